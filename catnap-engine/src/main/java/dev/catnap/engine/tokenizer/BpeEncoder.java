package dev.catnap.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE (GPT-2 style, {@code tokenizer.ggml.model = gpt2}). Each pre-tokenized word starts as one symbol per
 * UTF-8 byte; the adjacent pair with the lowest merge rank is merged first (the leftmost on ties) until no pair has a
 * rank. Symbols are ids: vocabulary ids, plus ids above the vocabulary for merge results that are not tokens, so that a
 * pair lookup is one probe in a primitive hash table.
 */
final class BpeEncoder implements FragmentEncoder {
    /** Words cached per tokenizer; source code repeats identifiers and indentation a lot. */
    private static final int CACHE_LIMIT = 1 << 16;

    private final Vocabulary vocab;
    private final PreTokenizer preTokenizer;
    private final boolean ignoreMerges;
    private final int[] byteSymbol = new int[256];
    private final byte[][] extraSymbolBytes;
    private final PairTable merges;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    BpeEncoder(Vocabulary vocab, PreTokenizer preTokenizer, boolean ignoreMerges, List<String> mergeList) {
        this.vocab = vocab;
        this.preTokenizer = preTokenizer;
        this.ignoreMerges = ignoreMerges;
        Map<String, Integer> extra = new HashMap<>();
        List<String> extraTexts = new ArrayList<>();
        for (int b = 0; b < 256; b++) byteSymbol[b] = symbolId(String.valueOf(ByteLevel.encode(b)), extra, extraTexts);
        this.merges = new PairTable(mergeList.size());
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String merge = mergeList.get(rank);
            int space = merge.indexOf(' ', 1);
            if (space < 0) continue; // llama.cpp files it under an empty pair that never matches
            String first = merge.substring(0, space), second = merge.substring(space + 1);
            int left = symbolId(first, extra, extraTexts);
            int right = symbolId(second, extra, extraTexts);
            int result = symbolId(first + second, extra, extraTexts);
            merges.putIfAbsent(left, right, rank, result);
        }
        extraSymbolBytes = new byte[extraTexts.size()][];
        for (int i = 0; i < extraTexts.size(); i++) extraSymbolBytes[i] = rawBytes(extraTexts.get(i));
    }

    private int symbolId(String text, Map<String, Integer> extra, List<String> extraTexts) {
        int id = vocab.id(text);
        if (id >= 0) return id;
        return extra.computeIfAbsent(text, t -> {
            extraTexts.add(t);
            return vocab.size() + extraTexts.size() - 1;
        });
    }

    private static byte[] rawBytes(String byteLevelText) {
        byte[] out = new byte[byteLevelText.length()];
        int n = 0;
        for (int i = 0; i < byteLevelText.length(); i++) {
            int b = ByteLevel.decode(byteLevelText.charAt(i));
            if (b >= 0) out[n++] = (byte) b;
        }
        return java.util.Arrays.copyOf(out, n);
    }

    @Override
    public void encode(String text, IntList out) {
        Splitter.Bounds words = preTokenizer.bounds(text);
        for (int w = 0; w < words.count; w++) {
            String word = text.substring(words.start(w), words.end(w));
            int[] ids = wordCache.get(word);
            if (ids == null) {
                ids = encodeWord(word);
                if (wordCache.size() >= CACHE_LIMIT) wordCache.clear();
                wordCache.put(word, ids);
            }
            out.addAll(ids);
        }
    }

    int[] encodeWord(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        if (ignoreMerges || n == 1) {
            int whole = vocab.id(ByteLevel.encode(bytes));
            if (whole >= 0 && (ignoreMerges || whole < vocab.size())) return new int[] {whole};
        }
        int[] sym = new int[n], prev = new int[n], next = new int[n];
        for (int i = 0; i < n; i++) {
            sym[i] = byteSymbol[bytes[i] & 0xFF];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        LongHeap queue = new LongHeap(n);
        for (int i = 1; i < n; i++) offer(queue, sym, i - 1, i);
        while (!queue.isEmpty()) {
            long top = queue.poll();
            int left = (int) top;
            int rank = (int) (top >>> 32);
            int right = next[left];
            if (sym[left] < 0 || right < 0) continue;
            long slot = merges.find(sym[left], sym[right]);
            if (slot < 0 || merges.rank(slot) != rank) continue; // stale: one side has changed since it was queued
            sym[left] = merges.result(slot);
            sym[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            if (prev[left] >= 0) offer(queue, sym, prev[left], left);
            if (next[left] >= 0) offer(queue, sym, left, next[left]);
        }
        IntList out = new IntList(n);
        for (int i = 0; i >= 0; i = next[i]) {
            int id = sym[i];
            if (id < vocab.size()) {
                out.add(id);
            } else {
                // a symbol that is no token: llama.cpp falls back to single-character tokens, which exist only for
                // bytes that stand for themselves in the byte alphabet
                for (byte b : extraSymbolBytes[id - vocab.size()]) {
                    if (b >= '!' && b <= '~') {
                        int single = vocab.id(String.valueOf((char) b));
                        if (single >= 0) out.add(single);
                    }
                }
            }
        }
        return out.toArray();
    }

    private void offer(LongHeap queue, int[] sym, int left, int right) {
        long slot = merges.find(sym[left], sym[right]);
        if (slot >= 0) queue.add(((long) merges.rank(slot) << 32) | left);
    }

    /** Open-addressing map from a (left, right) symbol pair to its merge rank and result. */
    static final class PairTable {
        private final long[] keys;
        private final int[] ranks;
        private final int[] results;
        private final int mask;
        private final int shift;

        PairTable(int expected) {
            int capacity = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
            keys = new long[capacity];
            java.util.Arrays.fill(keys, -1L);
            ranks = new int[capacity];
            results = new int[capacity];
            mask = capacity - 1;
            shift = 64 - Integer.numberOfTrailingZeros(capacity);
        }

        private static long key(int left, int right) {
            return ((long) left << 32) | (right & 0xFFFFFFFFL);
        }

        /** Fibonacci hashing: the top bits of the product depend on all bits of the key. */
        private int hash(long key) {
            return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
        }

        void putIfAbsent(int left, int right, int rank, int result) {
            long key = key(left, right);
            int i = hash(key) & mask;
            while (keys[i] != -1L) {
                if (keys[i] == key) return; // the first rank of a duplicated merge wins, as in llama.cpp
                i = (i + 1) & mask;
            }
            keys[i] = key;
            ranks[i] = rank;
            results[i] = result;
        }

        long find(int left, int right) {
            long key = key(left, right);
            int i = hash(key) & mask;
            while (true) {
                long k = keys[i];
                if (k == key) return i;
                if (k == -1L) return -1;
                i = (i + 1) & mask;
            }
        }

        int rank(long slot) {
            return ranks[(int) slot];
        }

        int result(long slot) {
            return results[(int) slot];
        }
    }

    /** A binary min-heap of longs: (rank << 32 | left position), so that ties go to the leftmost pair. */
    static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(long value) {
            if (size == heap.length) heap = java.util.Arrays.copyOf(heap, size * 2);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= value) break;
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = value;
        }

        long poll() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) break;
                if (child + 1 < size && heap[child + 1] < heap[child]) child++;
                if (heap[child] >= last) break;
                heap[i] = heap[child];
                i = child;
            }
            if (size > 0) heap[i] = last;
            return top;
        }
    }
}
