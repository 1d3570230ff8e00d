package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.GGUFFile;

/** Builds the decoder for a GGUF file's {@code general.architecture}. */
public final class Decoders {
    private Decoders() {
    }

    /** The decoder takes ownership of {@code backend} (closing it closes the backend), not of the file. */
    public static Decoder load(GGUFFile file, Backend backend) {
        String arch = file.metadata().architecture();
        var embedding = file.tensors().get("token_embd.weight");
        if (embedding == null) throw new IllegalArgumentException(file.path().getFileName() + ": tensor token_embd.weight is missing");
        int vocabSize = (int) embedding.dim(1);
        return switch (arch) {
            case "starcoder" -> new StarCoder(file, ModelConfig.read(file.metadata(), vocabSize, false), backend);
            case "qwen2" -> new Llama(file, ModelConfig.read(file.metadata(), vocabSize, true), backend, true);
            case "llama" -> new Llama(file, ModelConfig.read(file.metadata(), vocabSize, true), backend, false);
            default -> throw new IllegalArgumentException("architecture '" + arch
                    + "' is not supported for generation (supported: starcoder, qwen2, llama)");
        };
    }
}
