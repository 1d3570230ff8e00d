package dev.catnap.index;

/** The index cannot be opened or written; the message is one line for the operator. */
public final class IndexException extends Exception {
    public IndexException(String message) {
        super(message);
    }
}
