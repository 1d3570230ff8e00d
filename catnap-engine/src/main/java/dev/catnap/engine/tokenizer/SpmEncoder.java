package dev.catnap.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

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

    private record Bigram(int left, int right, float score, int length) {
    }

    @Override
    public void encode(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        int[] start = new int[n], len = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0, offset = 0; i < n; i++) {
            int cp = text.codePointAt(offset);
            start[i] = offset;
            len[i] = Character.charCount(cp);
            offset += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        Map<String, int[]> reverseMerges = new HashMap<>();
        for (int i = 1; i < n; i++) tryAdd(text, start, len, i - 1, i, queue, reverseMerges);
        while (!queue.isEmpty()) {
            Bigram bigram = queue.poll();
            int left = bigram.left, right = bigram.right;
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != bigram.length) continue;
            len[left] += len[right];
            len[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) tryAdd(text, start, len, prev[left], left, queue, reverseMerges);
            if (next[left] >= 0) tryAdd(text, start, len, left, next[left], queue, reverseMerges);
        }
        for (int i = n == 0 ? -1 : 0; i >= 0; i = next[i]) resegment(text, start, len, i, out, reverseMerges);
    }

    private void tryAdd(String text, int[] start, int[] len, int left, int right, PriorityQueue<Bigram> queue,
                        Map<String, int[]> reverseMerges) {
        String merged = text.substring(start[left], start[left] + len[left] + len[right]);
        int id = vocab.id(merged);
        if (id < 0) return;
        queue.add(new Bigram(left, right, vocab.scores()[id], merged.length()));
        reverseMerges.put(merged, new int[] {left, right});
    }

    private void resegment(String text, int[] start, int[] len, int symbol, IntList out,
                           Map<String, int[]> reverseMerges) {
        String piece = text.substring(start[symbol], start[symbol] + len[symbol]);
        int id = vocab.id(piece);
        if (id >= 0) {
            out.add(id);
            return;
        }
        int[] parts = reverseMerges.get(piece);
        if (parts == null) {
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int byteId = byteTokens[b & 0xFF];
                if (byteId < 0) {
                    throw new IllegalStateException("vocabulary has no byte token for 0x"
                            + Integer.toHexString(b & 0xFF));
                }
                out.add(byteId);
            }
            return;
        }
        resegment(text, start, len, parts[0], out, reverseMerges);
        resegment(text, start, len, parts[1], out, reverseMerges);
    }
}
