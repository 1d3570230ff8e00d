package dev.catnap.engine.tokenizer;

import dev.catnap.engine.gguf.GGUFMetadata;
import java.util.OptionalInt;

/**
 * Text to token ids and back, exactly as llama.cpp does for the same GGUF vocabulary. Implementations are immutable
 * and safe to share between threads; a {@link StreamingDecoder} is not and belongs to one generation.
 */
public interface Tokenizer {

    /**
     * Builds the tokenizer described by the {@code tokenizer.*} keys of a GGUF file.
     *
     * @throws IllegalArgumentException naming the unsupported {@code tokenizer.ggml.model} or {@code tokenizer.ggml.pre},
     *                                  or the missing or inconsistent key
     */
    static Tokenizer fromGGUF(GGUFMetadata metadata) {
        return TokenizerLoader.load(metadata);
    }

    int vocabSize();

    /**
     * @param addSpecial   add BOS/EOS (or CLS/SEP for WordPiece) as the vocabulary's {@code add_*} rules ask
     * @param parseSpecial treat the text of control and user-defined tokens (such as {@code <fim_prefix>}) as that
     *                     single token; when false such text is tokenized as plain text
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /**
     * A prompt's ids: the joined text encoded as with {@code parseSpecial}, except that the text of control tokens
     * counts as those tokens only inside the prompt's {@link Prompt.Template} parts; in its {@link Prompt.Text} parts
     * it is plain text.
     *
     * @param addSpecial add BOS/EOS (or CLS/SEP) as the vocabulary's {@code add_*} rules ask
     */
    int[] encode(Prompt prompt, boolean addSpecial);

    /** Whether {@code id} is a control token (BOS, EOS, FIM markers, chat turn markers, ...). */
    boolean isControl(int id);

    /**
     * The bytes of one token as {@code llama_token_to_piece} renders them (special tokens as their text); may be an
     * incomplete UTF-8 sequence.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    byte[] tokenBytes(int id);

    /**
     * The text of a whole sequence: the {@link #tokenBytes pieces} joined, invalid UTF-8 replaced by U+FFFD. This is
     * what llama.cpp's server emits (pieces concatenated), not {@code llama_detokenize}: no leading space is removed
     * and no space before punctuation is "cleaned up", which would change code.
     *
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    String decode(int[] ids);

    /** A fresh decoder for one token stream. */
    StreamingDecoder streamingDecoder();

    SpecialTokens specialTokens();

    /** Whether generation ends at this token (llama.cpp's end-of-generation set: EOS, EOT, im_end, ...). */
    boolean isEndOfGeneration(int id);

    /** The id of the token whose text is exactly {@code tokenText}. */
    OptionalInt tokenId(String tokenText);
}
