package dev.catnap.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * SentencePiece BPE ({@code tokenizer.ggml.model = llama}) as llama.cpp runs it: the text (spaces already written as
 * U+2581) starts as one symbol per character; the adjacent pair whose concatenation is the token with the highest score
 * is merged first (leftmost on ties). Characters that end up in no token are written as byte tokens {@code <0xXX>}.
 */
final class SpmEncoder implements FragmentEncoder {
    private final Vocabulary vocab;
    private final int[] byteTokens = new int[256];

    SpmEncoder(Vocabulary vocab) {
        this.vocab = vocab;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0) id = vocab.id(String.valueOf((char) b)); // llama.cpp falls back to the byte as text
            byteTokens[b] = id;
        }
    }

    @Override
    public void encode(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        if (n == 0) return;
        int[] start = new int[n], len = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0, offset = 0; i < n; i++) {
            int cp = text.codePointAt(offset);
            start[i] = offset;
            len[i] = Character.charCount(cp);
            offset += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        BpeEncoder.LongHeap queue = new BpeEncoder.LongHeap(n);
        for (int i = 1; i < n; i++) offer(queue, text, start, len, i - 1, i);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int left = (int) top;
            int right = next[left];
            if (len[left] == 0 || right < 0) continue;
            // an entry is stale when either side has merged since; the pair now at `left` is queued on its own
            int id = vocab.id(text.substring(start[left], start[left] + len[left] + len[right]));
            if (id < 0 || key(vocab.scores()[id], left) != top) continue;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer(queue, text, start, len, prev[left], left);
            if (next[left] >= 0) offer(queue, text, start, len, left, next[left]);
        }
        for (int i = 0; i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            int id = vocab.id(piece);
            if (id >= 0) {
                out.add(id);
                continue;
            }
            // merged symbols are always tokens, so this is a single character the vocabulary lacks
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int byteId = byteTokens[b & 0xFF];
                if (byteId < 0) {
                    throw new IllegalStateException(
                            "vocabulary has no byte token for 0x" + Integer.toHexString(b & 0xFF));
                }
                out.add(byteId);
            }
        }
    }

    private void offer(BpeEncoder.LongHeap queue, String text, int[] start, int[] len, int left, int right) {
        int id = vocab.id(text.substring(start[left], start[left] + len[left] + len[right]));
        if (id >= 0) queue.add(key(vocab.scores()[id], left));
    }

    /** Orders a min-heap by score, highest first, then by position, leftmost first. */
    private static long key(float score, int left) {
        int bits = Float.floatToIntBits(-(score + 0.0f)); // + 0.0f: -0.0 and 0.0 are the same score
        int sortable = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed int order == float order
        return ((long) sortable << 32) | left;
    }
}
