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
}
