package dev.catnap.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The {@link Tokenizer} for all GGUF vocabulary kinds. Special-token text is cut out of the input first (user-defined
 * tokens always, control tokens only when asked), then each remaining piece of text goes to the kind's encoder;
 * BOS/EOS (CLS/SEP for WordPiece) are added around the result as llama.cpp does.
 */
final class GgufTokenizer implements Tokenizer {
    private final Vocabulary vocab;
    private final TokenizerLoader.Kind kind;
    private final FragmentEncoder encoder;
    private final byte[][] pieces;
    private final boolean addSpacePrefix;
    private final int sep;
    private final boolean[] endOfGeneration;
    // special tokens by their first one or two chars, to find the few that occur in a text in one pass
    private final BitSet specialStarts;
    private final Map<Integer, int[]> specialsByStart;

    GgufTokenizer(
            Vocabulary vocab,
            TokenizerLoader.Kind kind,
            FragmentEncoder encoder,
            byte[][] pieces,
            boolean addSpacePrefix,
            int sep) {
        this.vocab = vocab;
        this.kind = kind;
        this.encoder = encoder;
        this.pieces = pieces;
        this.addSpacePrefix = addSpacePrefix;
        this.sep = sep;
        this.endOfGeneration = new boolean[vocab.size()];
        for (int id : vocab.endOfGeneration()) endOfGeneration[id] = true;
        this.specialStarts = new BitSet(1 << 16);
        Map<Integer, IntList> byStart = new HashMap<>();
        for (int id : vocab.specialOrder()) {
            String t = vocab.texts()[id];
            specialStarts.set(t.charAt(0));
            byStart.computeIfAbsent(startKey(t, 0, t.length()), k -> new IntList(4))
                    .add(id);
        }
        this.specialsByStart = new HashMap<>();
        byStart.forEach((k, ids) -> specialsByStart.put(k, ids.toArray()));
    }

    private static int startKey(String s, int i, int end) {
        return i + 1 < end ? (s.charAt(i) << 16) | s.charAt(i + 1) : s.charAt(i);
    }

    /** Which special tokens (by id) occur in {@code text}. */
    private BitSet specialsIn(String text) {
        BitSet present = new BitSet();
        for (int i = 0, n = text.length(); i < n; i++) {
            if (!specialStarts.get(text.charAt(i))) continue;
            // a one-char special token, and those that start with these two chars
            for (int key : new int[] {text.charAt(i), startKey(text, i, n)}) {
                int[] candidates = specialsByStart.get(key);
                if (candidates == null) continue;
                for (int id : candidates) {
                    if (!present.get(id) && text.startsWith(vocab.texts()[id], i)) present.set(id);
                }
                if (i + 1 >= n) break;
            }
        }
        return present;
    }

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    /** A piece of the input: plain text {@code [start, end)} of the input, or one special token ({@code token >= 0}). */
    private record Fragment(int start, int end, int token) {
        static Fragment text(int start, int end) {
            return new Fragment(start, end, -1);
        }

        boolean isText() {
            return token < 0;
        }
    }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        BitSet trusted = new BitSet();
        if (parseSpecial) trusted.set(0, text.length());
        return encode(text, addSpecial, trusted);
    }

    @Override
    public int[] encode(Prompt prompt, boolean addSpecial) {
        String text = prompt.text();
        BitSet trusted = new BitSet(text.length());
        int at = 0;
        for (Prompt.Part p : prompt.parts()) {
            int len = p.text().length();
            if (p instanceof Prompt.Template) trusted.set(at, at + len);
            at += len;
        }
        return encode(text, addSpecial, trusted);
    }

    @Override
    public boolean isControl(int id) {
        piece(id); // range check
        return vocab.has(id, Vocabulary.ATTR_CONTROL);
    }

    /** {@code trusted}: the characters where control-token text counts as the token. */
    private int[] encode(String text, boolean addSpecial, BitSet trusted) {
        SpecialTokens special = vocab.special();
        List<Fragment> fragments = partition(text, trusted);
        IntList out = new IntList(text.length() / 3 + 4);
        switch (kind) {
            case SPM -> {
                if (addSpecial && special.addBos()) out.add(required(special.bos(), "BOS"));
                boolean previousSpecial = true; // SentencePiece prefixes a space at the start and after a special token
                for (Fragment f : fragments) {
                    if (f.isText()) {
                        String piece = text.substring(f.start(), f.end());
                        if (addSpacePrefix && previousSpecial) piece = " " + piece;
                        encoder.encode(piece.replace(' ', '\u2581'), out);
                        previousSpecial = false;
                    } else {
                        out.add(f.token());
                        previousSpecial = true;
                    }
                }
                if (addSpecial && special.addEos()) out.add(required(special.eos(), "EOS"));
            }
            case BPE -> {
                if (addSpecial && special.addBos()) out.add(required(special.bos(), "BOS"));
                encodeFragments(text, fragments, out);
                if (addSpecial && special.addEos()) out.add(required(special.eos(), "EOS"));
            }
            case WPM -> {
                if (addSpecial) out.add(required(special.bos(), "CLS"));
                encodeFragments(text, fragments, out);
                if (addSpecial) out.add(required(sep, "SEP"));
            }
        }
        return out.toArray();
    }

    private void encodeFragments(String text, List<Fragment> fragments, IntList out) {
        for (Fragment f : fragments) {
            if (f.isText()) encoder.encode(text.substring(f.start(), f.end()), out);
            else out.add(f.token());
        }
    }

    private static int required(int id, String what) {
        if (id < 0) throw new IllegalStateException("the vocabulary asks for a " + what + " token but has none");
        return id;
    }

    /**
     * Cuts special-token text out of {@code text}, longest tokens first, as llama.cpp's tokenizer_st_partition does.
     * Control and unknown tokens count only where their whole text is {@code trusted}; user-defined tokens always do.
     */
    private List<Fragment> partition(String text, BitSet trusted) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) return fragments;
        fragments.add(Fragment.text(0, text.length()));
        BitSet present = specialsIn(text);
        if (present.isEmpty()) return fragments;
        for (int id : vocab.specialOrder()) {
            if (!present.get(id)) continue;
            boolean needsTrust = vocab.has(id, Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_UNKNOWN);
            if (needsTrust && trusted.isEmpty()) continue;
            String token = vocab.texts()[id];
            List<Fragment> next = new ArrayList<>(fragments.size() + 4);
            for (Fragment f : fragments) {
                if (!f.isText()) {
                    next.add(f);
                    continue;
                }
                int start = f.start(), end = f.end(), from = start;
                while (from < end) {
                    int match = text.indexOf(token, from);
                    if (match < 0 || match + token.length() > end) break;
                    if (needsTrust && trusted.nextClearBit(match) < match + token.length()) {
                        from = match + 1; // user text that only looks like the token
                        continue;
                    }
                    int leftEnd = match;
                    if (vocab.has(id, Vocabulary.ATTR_LSTRIP)) {
                        while (leftEnd > start && isCSpace(text.charAt(leftEnd - 1))) leftEnd--;
                    }
                    if (leftEnd > start) next.add(Fragment.text(start, leftEnd));
                    next.add(new Fragment(match, match + token.length(), id));
                    start = match + token.length();
                    if (vocab.has(id, Vocabulary.ATTR_RSTRIP)) {
                        while (start < end && isCSpace(text.charAt(start))) start++;
                    }
                    from = start;
                }
                if (start < end) next.add(Fragment.text(start, end));
            }
            fragments = next;
        }
        return fragments;
    }

    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    @Override
    public byte[] tokenBytes(int id) {
        return piece(id).clone();
    }

    byte[] piece(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException(
                    "token id " + id + " is outside the vocabulary (0.." + (pieces.length - 1) + ")");
        }
        return pieces[id];
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) out.writeBytes(piece(id));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new Utf8StreamingDecoder(this::piece);
    }

    @Override
    public SpecialTokens specialTokens() {
        return vocab.special();
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }

    @Override
    public OptionalInt tokenId(String tokenText) {
        int id = vocab.id(tokenText);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    @Override
    public String toString() {
        return "Tokenizer[" + kind + ", " + vocab.size() + " tokens]";
    }
}
