package dev.catnap.engine.tokenizer;

import dev.catnap.engine.gguf.GGUFMetadata;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Builds a {@link Tokenizer} from the {@code tokenizer.*} metadata of a GGUF file, following the rules llama.cpp applies
 * when it loads a vocabulary (defaults per model kind, special ids found by key or by text, end-of-generation set).
 */
final class TokenizerLoader {
    private static final String PREFIX = "tokenizer.ggml.";

    // texts that llama.cpp recognises when the metadata does not name the token
    private static final Set<String> EOT_TEXTS = Set.of(
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "<|end_of_text|>",
            "<EOT>",
            "_<EOT>",
            "<｜end▁of▁sentence｜>",
            "<end_of_utterance>");
    private static final Set<String> EOM_TEXTS = Set.of("<|eom_id|>");
    private static final Set<String> FIM_PRE_TEXTS = Set.of(
            "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>");
    private static final Set<String> FIM_SUF_TEXTS = Set.of(
            "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>");
    private static final Set<String> FIM_MID_TEXTS = Set.of(
            "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>");
    private static final Set<String> FIM_PAD_TEXTS = Set.of("<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>");
    private static final Set<String> FIM_REP_TEXTS =
            Set.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>");
    private static final Set<String> FIM_SEP_TEXTS = Set.of("<|file_sep|>");
    private static final Set<String> EOG_TEXTS = Set.of(
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<|return|>",
            "<|call|>",
            "<|flush|>",
            "<|calls|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "</s>",
            "<|eom_id|>",
            "<EOT>",
            "_<EOT>",
            "[EOT]",
            "[EOS]",
            "<|end_of_text|>",
            "<end_of_utterance>",
            "<eos>",
            "<turn|>",
            "<|tool_response>");

    enum Kind {
        SPM,
        BPE,
        WPM
    }

    private TokenizerLoader() {}

    static Tokenizer load(GGUFMetadata md) {
        if (!md.has(PREFIX + "model")) {
            throw new IllegalArgumentException("GGUF metadata has no tokenizer (tokenizer.ggml.model is missing)");
        }
        String model = md.getString(PREFIX + "model");
        String pre = md.getString(PREFIX + "pre", "");

        Kind kind;
        int bos, eos, unk, sep = -1, pad = -1;
        boolean addBos = false, addEos = false, addSpacePrefix = false, ignoreMerges = false;
        PreTokenizer preTokenizer = null;
        switch (model) {
            case "llama" -> {
                kind = Kind.SPM;
                bos = 1;
                eos = 2;
                unk = 0;
                addSpacePrefix = true;
                addBos = true;
            }
            case "bert" -> {
                kind = Kind.WPM;
                bos = 101;
                eos = -1;
                unk = 100;
                sep = 102;
                pad = 0;
                addBos = true;
            }
            case "gpt2" -> {
                kind = Kind.BPE;
                bos = 11;
                eos = 11;
                unk = -1;
                preTokenizer = PreTokenizer.forName(pre);
                ignoreMerges = preTokenizer.ignoreMerges();
                addBos = preTokenizer.addBos();
            }
            default ->
                throw new IllegalArgumentException(
                        "unsupported tokenizer.ggml.model '" + model + "' (supported: gpt2, llama, bert)");
        }
        addSpacePrefix = md.getBoolean(PREFIX + "add_space_prefix", addSpacePrefix);

        if (!md.has(PREFIX + "tokens"))
            throw new IllegalArgumentException("GGUF metadata has no tokenizer.ggml.tokens");
        List<String> tokenList = md.getStringArray(PREFIX + "tokens");
        int n = tokenList.size();
        if (n == 0) throw new IllegalArgumentException("tokenizer.ggml.tokens is empty");
        float[] scores = md.has(PREFIX + "scores") ? md.getFloatArray(PREFIX + "scores") : new float[n];
        int[] types = md.has(PREFIX + "token_type") ? md.getIntArray(PREFIX + "token_type") : null;
        if (scores.length != n)
            throw new IllegalArgumentException(
                    "tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        if (types != null && types.length != n)
            throw new IllegalArgumentException(
                    "tokenizer.ggml.token_type has " + types.length + " entries for " + n + " tokens");

        String[] texts = new String[n];
        int[] attrs = new int[n];
        Map<String, Integer> ids = HashMap.newHashMap(n);
        for (int i = 0; i < n; i++) {
            String text = tokenList.get(i);
            if (text.isEmpty()) text = "[EMPTY_" + i + "]";
            texts[i] = text;
            if (ids.put(text, i) != null) {
                throw new IllegalArgumentException("tokenizer.ggml.tokens holds '" + text + "' twice (id " + i + ")");
            }
            attrs[i] = types == null
                    ? Vocabulary.ATTR_NORMAL
                    : switch (types[i]) {
                        case 1 -> Vocabulary.ATTR_NORMAL;
                        case 2 -> Vocabulary.ATTR_UNKNOWN;
                        case 3 -> Vocabulary.ATTR_CONTROL;
                        case 4 -> Vocabulary.ATTR_USER_DEFINED;
                        case 5 -> Vocabulary.ATTR_UNUSED;
                        case 6 -> Vocabulary.ATTR_BYTE;
                        default -> Vocabulary.ATTR_UNDEFINED;
                    };
        }

        // the per-kind defaults above assume a full-size vocabulary
        bos = specialId(md, "bos_token_id", bos < n ? bos : -1, n);
        eos = specialId(md, "eos_token_id", eos < n ? eos : -1, n);
        unk = unk < n ? unk : -1;
        sep = sep < n ? sep : -1;
        pad = pad < n ? pad : -1;
        int eot = specialId(md, "eot_token_id", -1, n);
        int eom = specialId(md, "eom_token_id", -1, n);
        unk = specialId(md, "unknown_token_id", unk, n);
        sep = specialId(md, "seperator_token_id", sep, n);
        pad = specialId(md, "padding_token_id", pad, n);
        int fimPre = specialId(md, "fim_pre_token_id", -1, n);
        int fimSuf = specialId(md, "fim_suf_token_id", -1, n);
        int fimMid = specialId(md, "fim_mid_token_id", -1, n);
        int fimPad = specialId(md, "fim_pad_token_id", -1, n);
        int fimRep = specialId(md, "fim_rep_token_id", -1, n);
        int fimSep = specialId(md, "fim_sep_token_id", -1, n);
        fimPre = specialId(md, "prefix_token_id", fimPre, n);
        fimSuf = specialId(md, "suffix_token_id", fimSuf, n);
        fimMid = specialId(md, "middle_token_id", fimMid, n);
        int cls = specialId(md, "cls_token_id", kind == Kind.WPM ? bos : -1, n);
        addBos = md.getBoolean(PREFIX + "add_bos_token", addBos);
        addEos = md.getBoolean(PREFIX + "add_eos_token", addEos);

        // Special tokens known only by their text. llama.cpp walks a hash map here; we walk ids in order so that the
        // choice among several candidates (e.g. <|im_end|> and <|endoftext|> for EOT) is deterministic.
        for (int id = 0; id < n; id++) {
            String t = texts[id];
            if (eot < 0 && EOT_TEXTS.contains(t)) eot = markControl(attrs, id);
            if (eom < 0 && EOM_TEXTS.contains(t)) eom = markControl(attrs, id);
            if (fimPre < 0 && FIM_PRE_TEXTS.contains(t)) fimPre = markControl(attrs, id);
            if (fimSuf < 0 && FIM_SUF_TEXTS.contains(t)) fimSuf = markControl(attrs, id);
            if (fimMid < 0 && FIM_MID_TEXTS.contains(t)) fimMid = markControl(attrs, id);
            if (fimPad < 0 && FIM_PAD_TEXTS.contains(t)) fimPad = markControl(attrs, id);
            if (fimRep < 0 && FIM_REP_TEXTS.contains(t)) fimRep = markControl(attrs, id);
            if (fimSep < 0 && FIM_SEP_TEXTS.contains(t)) fimSep = markControl(attrs, id);
        }

        Set<Integer> eog = new LinkedHashSet<>();
        for (int id : new int[] {fimPad, fimRep, fimSep}) if (id >= 0) eog.add(id);
        for (int id = 0; id < n; id++) {
            if (EOG_TEXTS.contains(texts[id])) {
                eog.add(id);
                markControl(attrs, id);
            }
        }
        // gpt-oss renders these always, as llama.cpp does
        for (String t : List.of("<|channel|>", "<|message|>", "<|start|>", "<|constrain|>")) {
            Integer id = ids.get(t);
            if (id != null) attrs[id] = Vocabulary.ATTR_USER_DEFINED;
        }
        for (int id : new int[] {eos, eot, eom}) if (id >= 0) eog.add(id);
        // harmony / solar-open: <|end|> closes a message, not the generation
        boolean hasReturn = eogHas(eog, texts, "<|return|>");
        boolean hasCall = eogHas(eog, texts, "<|call|>") || eogHas(eog, texts, "<|calls|>");
        boolean hasFlush = eogHas(eog, texts, "<|flush|>");
        Integer end = ids.get("<|end|>");
        if (end != null && eog.contains(end) && ((hasReturn && hasCall) || (hasCall && hasFlush))) {
            eog.remove(end);
            attrs[end] = Vocabulary.ATTR_USER_DEFINED;
        }
        Integer closeS = ids.get("</s>");
        if (closeS != null && eog.contains(closeS) && eogHas(eog, texts, "<|tool_response>")) {
            eog.remove(closeS);
            attrs[closeS] = Vocabulary.ATTR_NORMAL;
        }

        byte[][] utf8 = new byte[n][];
        for (int i = 0; i < n; i++) utf8[i] = texts[i].getBytes(StandardCharsets.UTF_8);
        int[] specialOrder = IntStream.range(0, n)
                .filter(id ->
                        (attrs[id] & (Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED | Vocabulary.ATTR_UNKNOWN))
                                != 0)
                .boxed()
                .sorted(Comparator.comparingInt((Integer id) -> -utf8[id].length)
                        .thenComparingInt(id -> id))
                .mapToInt(Integer::intValue)
                .toArray();

        byte[][] pieces = new byte[n][];
        for (int id = 0; id < n; id++) pieces[id] = piece(kind, texts[id], utf8[id], attrs[id]);

        applyNamedAttributes(md, pre, ids, attrs, specialOrder);

        SpecialTokens special =
                new SpecialTokens(bos, eos, eot, unk, pad, sep, cls, fimPre, fimSuf, fimMid, addBos, addEos);
        Vocabulary vocab = new Vocabulary(
                texts, attrs, scores, Collections.unmodifiableMap(ids), specialOrder, special, Set.copyOf(eog));
        FragmentEncoder encoder = switch (kind) {
            case BPE -> new BpeEncoder(vocab, preTokenizer, ignoreMerges, md.getStringArray(PREFIX + "merges"));
            case SPM -> new SpmEncoder(vocab);
            case WPM -> new WordPieceEncoder(vocab);
        };
        return new GgufTokenizer(vocab, kind, encoder, pieces, addSpacePrefix, sep);
    }

    private static int specialId(GGUFMetadata md, String key, int fallback, int n) {
        String full = PREFIX + key;
        if (!md.has(full)) return fallback;
        long id = md.getLong(full);
        return id >= 0 && id < n ? (int) id : fallback; // llama.cpp keeps the default for an out-of-range id
    }

    private static int markControl(int[] attrs, int id) {
        attrs[id] |= Vocabulary.ATTR_CONTROL;
        return id;
    }

    private static boolean eogHas(Set<Integer> eog, String[] texts, String text) {
        for (int id : eog) if (texts[id].equals(text)) return true;
        return false;
    }

    /** The bytes llama_token_to_piece gives with special tokens rendered. */
    private static byte[] piece(Kind kind, String text, byte[] utf8, int attr) {
        if ((attr & (Vocabulary.ATTR_UNKNOWN | Vocabulary.ATTR_CONTROL | Vocabulary.ATTR_USER_DEFINED)) != 0)
            return utf8;
        if ((attr & Vocabulary.ATTR_NORMAL) != 0) {
            return switch (kind) {
                case SPM, WPM -> text.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
                case BPE -> byteLevelDecode(text);
            };
        }
        if ((attr & Vocabulary.ATTR_BYTE) != 0 && text.length() == 6 && text.startsWith("<0x") && text.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("byte token '" + text + "' is not <0xXX>");
            }
        }
        return new byte[0];
    }

    private static byte[] byteLevelDecode(String text) {
        var out = new java.io.ByteArrayOutputStream(text.length());
        text.codePoints().forEach(cp -> {
            int b = ByteLevel.decode(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                // not in the byte alphabet (a hand-added token): keep the character itself
                byte[] raw = Character.toString(cp).getBytes(StandardCharsets.UTF_8);
                out.write(raw, 0, raw.length);
            }
        });
        return out.toByteArray();
    }

    /** Per-model attribute fixes llama.cpp applies by model or pre-tokenizer name. */
    private static void applyNamedAttributes(
            GGUFMetadata md, String pre, Map<String, Integer> ids, int[] attrs, int[] specialOrder) {
        String name = md.getString("general.name", "").toLowerCase(Locale.ROOT);
        String arch = md.getString("general.architecture", "");
        if (pre.contains("jina-v2-de")
                || pre.contains("jina-v2-es")
                || pre.contains("jina-v2-code")
                || arch.contains("nomic-bert-moe")
                || arch.contains("jina-bert-v3")) {
            setAttr(ids, attrs, "<mask>", Vocabulary.ATTR_LSTRIP, true);
        } else if (name.contains("phi-3") || name.contains("phi3")) {
            for (int id : specialOrder) attrs[id] |= Vocabulary.ATTR_RSTRIP;
            setAttr(ids, attrs, "</s>", Vocabulary.ATTR_RSTRIP, true);
            for (String t : List.of("<unk>", "<s>", "<|endoftext|>"))
                setAttr(ids, attrs, t, Vocabulary.ATTR_RSTRIP, false);
        } else if (name.contains("modern-bert")) {
            setAttr(ids, attrs, "[MASK]", Vocabulary.ATTR_LSTRIP, true);
        }
    }

    private static void setAttr(Map<String, Integer> ids, int[] attrs, String text, int attr, boolean on) {
        Integer id = ids.get(text);
        if (id == null) return;
        attrs[id] = on ? attrs[id] | attr : attrs[id] & ~attr;
    }
}
