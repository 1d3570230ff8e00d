package dev.catnap.engine;

/** A request's prompt plus its new tokens do not fit the model's context (or the KV cache budget). */
public final class ContextOverflowException extends IllegalArgumentException {
    private final int requested;
    private final int limit;

    public ContextOverflowException(int requested, int limit, String message) {
        super(message);
        this.requested = requested;
        this.limit = limit;
    }

    public static ContextOverflowException of(int promptTokens, int maxNewTokens, int contextLength) {
        return new ContextOverflowException(
                promptTokens + maxNewTokens,
                contextLength,
                "prompt (" + promptTokens + " tokens) plus max new tokens (" + maxNewTokens
                        + ") exceeds the context of " + contextLength + " tokens");
    }

    /** Prompt plus new tokens. */
    public int requested() {
        return requested;
    }

    /** The context length (tokens). */
    public int limit() {
        return limit;
    }
}
