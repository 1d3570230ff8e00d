package dev.catnap.engine.model;

/**
 * A decoder-only transformer's forward pass over a batch of rows, each row one token of some sequence at some
 * position. Rows of one sequence must come in position order, and a sequence's earlier positions must already be in
 * its cache (or earlier in the same batch). Not thread-safe: one forward at a time.
 */
public interface Decoder extends AutoCloseable {
    ModelConfig config();

    /** Where it runs, for logs, e.g. "cpu, 2 threads, 256-bit vectors". */
    String description();

    /** A cache for one sequence of up to {@code capacity} positions: keys and values of every layer, in F32. */
    SequenceCache newCache(int capacity);

    /** Bytes of KV cache one position takes. */
    default long cacheBytesPerPosition() {
        ModelConfig c = config();
        return 2L * c.layers() * c.kvWidth() * Float.BYTES;
    }

    /**
     * Runs {@code tokens[t]} at {@code positions[t]} in {@code caches[t]}, and writes the logits of the rows listed in
     * {@code logitRows} (ascending) to {@code logits}, {@code vocabSize} values per listed row.
     */
    void forward(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows, float[] logits);

    @Override
    void close();

    /**
     * Checks a step's rows as every decoder must before it runs them: one position and one cache per token, each
     * cache made by this decoder ({@code cacheType}) with room for its row's position, and logit rows ascending
     * among the step's rows.
     */
    static void checkStep(
            int[] tokens,
            int[] positions,
            SequenceCache[] caches,
            int[] logitRows,
            Class<? extends SequenceCache> cacheType) {
        int n = tokens.length;
        if (positions.length != n || caches.length != n) {
            throw new IllegalArgumentException(
                    n + " tokens but " + positions.length + " positions and " + caches.length + " caches");
        }
        for (int t = 0; t < n; t++) {
            if (!cacheType.isInstance(caches[t])) {
                throw new IllegalArgumentException("row " + t + ": the cache was not made by this decoder");
            }
            if (positions[t] < 0 || positions[t] >= caches[t].capacity()) {
                throw new IllegalArgumentException("row " + t + ": position " + positions[t]
                        + " is outside its cache of " + caches[t].capacity() + " positions");
            }
        }
        for (int i = 0; i < logitRows.length; i++) {
            if (logitRows[i] < 0 || logitRows[i] >= n) {
                throw new IllegalArgumentException("logit row " + logitRows[i] + " is not one of the " + n + " rows");
            }
            if (i > 0 && logitRows[i] <= logitRows[i - 1])
                throw new IllegalArgumentException("logit rows must be ascending");
        }
    }
}
