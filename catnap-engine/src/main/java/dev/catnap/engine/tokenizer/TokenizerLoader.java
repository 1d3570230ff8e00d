package dev.catnap.engine.tokenizer;

import dev.catnap.engine.gguf.GGUFMetadata;

/** Builds a {@link Tokenizer} from GGUF metadata. */
final class TokenizerLoader {
    private TokenizerLoader() {
    }

    static Tokenizer load(GGUFMetadata metadata) {
        throw new UnsupportedOperationException("tokenizer loading is being implemented");
    }
}
