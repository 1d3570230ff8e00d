package dev.catnap.engine.tokenizer;

import java.util.Map;
import java.util.Set;

/**
 * The token table shared by all tokenizer kinds: texts as stored in GGUF, llama.cpp's per-token attributes, SentencePiece
 * scores and the special ids. Immutable once built.
 *
 * @param texts        token text per id, as in {@code tokenizer.ggml.tokens}
 * @param attrs        {@code ATTR_*} bit set per id
 * @param scores       per id; zeros when the file has none
 * @param ids          text to id
 * @param specialOrder ids of control, user-defined and unknown tokens, longest text first: the order in which
 *                     special-token text is cut out of a prompt
 * @param endOfGeneration ids that end a generation
 */
record Vocabulary(
        String[] texts,
        int[] attrs,
        float[] scores,
        Map<String, Integer> ids,
        int[] specialOrder,
        SpecialTokens special,
        Set<Integer> endOfGeneration) {
    // llama.cpp's llama_token_attr bits
    static final int ATTR_UNDEFINED = 0;
    static final int ATTR_UNKNOWN = 1 << 0;
    static final int ATTR_UNUSED = 1 << 1;
    static final int ATTR_NORMAL = 1 << 2;
    static final int ATTR_CONTROL = 1 << 3;
    static final int ATTR_USER_DEFINED = 1 << 4;
    static final int ATTR_BYTE = 1 << 5;
    static final int ATTR_LSTRIP = 1 << 7;
    static final int ATTR_RSTRIP = 1 << 8;

    int size() {
        return texts.length;
    }

    /** The id of a token text, or -1. */
    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean has(int id, int attr) {
        return (attrs[id] & attr) != 0;
    }
}
