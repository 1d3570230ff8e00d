package dev.catnap.engine.tokenizer;

/**
 * The special token ids of a vocabulary, -1 where the vocabulary has none. {@code addBos}/{@code addEos} say whether
 * {@link Tokenizer#encode} with {@code addSpecial} adds them (for WordPiece: CLS and SEP).
 */
public record SpecialTokens(
        int bos,
        int eos,
        int eot,
        int unk,
        int pad,
        int sep,
        int cls,
        int fimPrefix,
        int fimSuffix,
        int fimMiddle,
        boolean addBos,
        boolean addEos) {}
