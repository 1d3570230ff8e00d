package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.GGUFFile;

/** Builds the decoder for a GGUF file's {@code general.architecture}. */
public final class Decoders {
    private Decoders() {
    }

    /** The decoder takes ownership of {@code backend} (closing it closes the backend), not of the file. */
    public static Decoder load(GGUFFile file, Backend backend) {
        ModelConfig c = config(file);
        return switch (c.architecture()) {
            case "starcoder" -> new StarCoder(file, c, backend);
            default -> new Llama(file, c, backend, neoxRope(c.architecture()));
        };
    }

    /** The hyper-parameters of a supported decoder architecture; anything else is an IllegalArgumentException. */
    public static ModelConfig config(GGUFFile file) {
        String arch = file.metadata().architecture();
        var embedding = file.tensors().get("token_embd.weight");
        if (embedding == null) throw new IllegalArgumentException(file.path().getFileName() + ": tensor token_embd.weight is missing");
        int vocabSize = (int) embedding.dim(1);
        return switch (arch) {
            case "starcoder" -> ModelConfig.read(file.metadata(), vocabSize, false);
            case "qwen2", "llama" -> ModelConfig.read(file.metadata(), vocabSize, true);
            default -> throw new IllegalArgumentException("architecture '" + arch
                    + "' is not supported for generation (supported: starcoder, qwen2, llama)");
        };
    }

    /** Whether qwen2/llama rotate NEOX pairs (i, i + d/2) rather than adjacent pairs. */
    public static boolean neoxRope(String architecture) {
        return architecture.equals("qwen2");
    }
}
