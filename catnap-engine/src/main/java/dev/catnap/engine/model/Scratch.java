package dev.catnap.engine.model;

import java.util.Arrays;

/**
 * What the heap decoders' forward passes share and reuse from one pass to the next: growable work buffers, and each
 * row's view of its sequence's KV cache for attention. One pass at a time.
 */
final class Scratch {
    private final float[][] buffers = new float[8][];
    private float[][] keys = new float[0][];
    private float[][] values = new float[0][];
    private int[] lengths = new int[0];

    float[] get(int slot, int size) {
        float[] b = buffers[slot];
        if (b == null || b.length < size) {
            b = new float[Math.max(size, b == null ? 0 : b.length + b.length / 2)];
            buffers[slot] = b;
        }
        return b;
    }

    /** Starts a pass: each row attends to its sequence up to and including its own position. */
    int[] lengths(int[] positions) {
        int n = positions.length;
        if (lengths.length < n) {
            lengths = new int[n];
            keys = new float[n][];
            values = new float[n][];
        }
        // Rows past this batch would otherwise keep finished sequences' caches reachable.
        Arrays.fill(keys, n, keys.length, null);
        Arrays.fill(values, n, values.length, null);
        for (int t = 0; t < n; t++) lengths[t] = positions[t] + 1;
        return lengths;
    }

    /**
     * Writes each row's key and value, at {@code keyOffset} / {@code valueOffset} of rows {@code stride} wide, into
     * {@code layer} of its sequence's cache at its position, and points {@link #keys()} / {@link #values()} there.
     */
    void cache(int layer, SequenceCache[] caches, int[] positions, int kvWidth, float[] k, int keyOffset, float[] v,
               int valueOffset, int stride) {
        for (int t = 0; t < positions.length; t++) {
            var cache = (HeapSequenceCache) caches[t];
            float[] kc = cache.keys[layer], vc = cache.values[layer];
            System.arraycopy(k, t * stride + keyOffset, kc, positions[t] * kvWidth, kvWidth);
            System.arraycopy(v, t * stride + valueOffset, vc, positions[t] * kvWidth, kvWidth);
            keys[t] = kc;
            values[t] = vc;
        }
    }

    float[][] keys() {
        return keys;
    }

    float[][] values() {
        return values;
    }

    /**
     * How many leading rows are the only row of their sequence in this pass: decoding sequences' single tokens, which
     * the batched model places first. The backend may give those rows other kernels than prompt rows, so the count
     * depends only on each row's own sequence, never on how many other sequences share the pass.
     */
    static int oneTokenRows(SequenceCache[] caches, int n) {
        var rowsOf = new java.util.IdentityHashMap<SequenceCache, Integer>();
        for (int t = 0; t < n; t++) rowsOf.merge(caches[t], 1, Integer::sum);
        int k = 0;
        while (k < n && rowsOf.get(caches[k]) == 1) k++;
        return k;
    }

    /** Copies the rows whose logits are wanted to the front of {@code into}, ready for the final norm and head. */
    static void gatherRows(float[] x, int[] rows, int width, float[] into) {
        for (int i = 0; i < rows.length; i++) System.arraycopy(x, rows[i] * width, into, i * width, width);
    }
}
