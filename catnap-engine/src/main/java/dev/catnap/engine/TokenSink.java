package dev.catnap.engine;

/** Receives one generation's tokens, on the engine's decode thread: implementations must return quickly. */
public interface TokenSink {
    /** A new token. Returning false stops the generation now and frees its slot (finished with STOPPED). */
    boolean accept(int token);

    /** Called exactly once, last. {@code errorOrNull} is set only for {@link FinishReason#ERROR}. */
    void finished(FinishReason reason, Throwable errorOrNull);
}
