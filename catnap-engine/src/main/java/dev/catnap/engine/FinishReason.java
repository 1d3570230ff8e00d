package dev.catnap.engine;

/** Why a generation ended. */
public enum FinishReason {
    /** The model produced an end-of-generation token (it was passed to the sink first). */
    END_OF_GENERATION,
    /** maxNewTokens were generated. */
    LENGTH,
    /** The sink returned false. */
    STOPPED,
    /** {@link GenerationHandle#cancel()} was called, or the model was closed. */
    CANCELLED,
    /** The engine failed; the sink gets the cause. */
    ERROR
}
