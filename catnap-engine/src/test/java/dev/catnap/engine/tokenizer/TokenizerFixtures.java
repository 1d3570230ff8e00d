package dev.catnap.engine.tokenizer;

import dev.catnap.engine.gguf.GGUFFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/** The shared fixtures (surefire passes their location in {@code catnap.fixtures}) and tokenizers built from them. */
final class TokenizerFixtures {
    static final List<String> VOCABULARIES = List.of(
            "bert-bge", "deepseek-coder", "gpt-2", "llama-bpe", "llama-spm", "phi-3", "qwen2", "refact", "starcoder");

    private TokenizerFixtures() {}

    static Path root() {
        return Path.of(System.getProperty("catnap.fixtures", "../../shared/fixtures"));
    }

    static Path vocab(String name) {
        return root().resolve("vocab").resolve("ggml-vocab-" + name + ".gguf");
    }

    static Path model(String file) {
        return root().resolve("models").resolve(file);
    }

    static Tokenizer load(Path gguf) {
        try (GGUFFile file = GGUFFile.open(gguf)) {
            return Tokenizer.fromGGUF(file.metadata());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Tokenizer vocabulary(String name) {
        return load(vocab(name));
    }
}
