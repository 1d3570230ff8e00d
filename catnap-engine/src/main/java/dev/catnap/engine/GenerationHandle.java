package dev.catnap.engine;

/** A submitted generation. */
public interface GenerationHandle {
    /** Stops the generation before the next step and frees its slot; the sink gets CANCELLED. Idempotent. */
    void cancel();
}
