package dev.catnap.engine;

/** A bidirectional encoder (nomic-bert, bert): text in, one mean-pooled, L2-normalised vector out; {@link Engine} builds them. */
public interface EmbeddingModel extends AutoCloseable {
    int dimensions();

    /** Thread-safe; texts longer than the context are an IllegalArgumentException. */
    float[] embed(String text);

    @Override
    void close();
}
