package dev.catnap.engine.tokenizer;

/**
 * Turns a stream of token ids into text without ever emitting a broken character: bytes of an incomplete UTF-8
 * sequence are held back until the token that completes them arrives. One instance per generation; not thread-safe.
 */
public interface StreamingDecoder {

    /** The text that became complete with this token; may be empty. */
    String push(int id);

    /** Whatever is still held back, with an incomplete trailing sequence replaced by U+FFFD; resets the decoder. */
    String flush();
}
