package dev.catnap.engine.model;

/**
 * The keys and values of one sequence, for every layer, up to {@code capacity} positions. Owned by one sequence at a
 * time; where the cache lives (heap, device memory) is the decoder's business, and {@link #close()} gives device
 * memory back.
 */
public interface SequenceCache extends AutoCloseable {
    int capacity();

    @Override
    default void close() {}
}
