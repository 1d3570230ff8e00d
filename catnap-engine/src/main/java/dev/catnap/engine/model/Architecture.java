package dev.catnap.engine.model;

import dev.catnap.engine.gguf.GGUFFile;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The model architectures this engine runs, by their GGUF {@code general.architecture} names: decoders for
 * completion and chat, encoders for embeddings.
 */
public enum Architecture {
    STARCODER("starcoder", true),
    QWEN2("qwen2", true),
    LLAMA("llama", true),
    BERT("bert", false),
    NOMIC_BERT("nomic-bert", false);

    private final String id;
    private final boolean decoder;

    Architecture(String id, boolean decoder) {
        this.id = id;
        this.decoder = decoder;
    }

    /** The GGUF name, e.g. {@code nomic-bert}. */
    public String id() {
        return id;
    }

    /** Whether it generates text (a decoder-only transformer) rather than embedding it. */
    public boolean isDecoder() {
        return decoder;
    }

    /** The architecture of a GGUF name; anything else is an IllegalArgumentException naming the supported ones. */
    public static Architecture of(String id) {
        for (Architecture a : values()) {
            if (a.id.equals(id)) return a;
        }
        throw new IllegalArgumentException(
                "architecture '" + id + "' is not supported (supported: " + list(null) + ")");
    }

    /** The GGUF names of the decoders ({@code decoders} true), the encoders (false) or all (null). */
    public static String list(Boolean decoders) {
        return Arrays.stream(values())
                .filter(a -> decoders == null || a.decoder == decoders)
                .map(Architecture::id)
                .collect(Collectors.joining(", "));
    }

    /** The hyper-parameters of a decoder in this file; an encoder or an unknown architecture is refused. */
    public static ModelConfig decoderConfig(GGUFFile file) {
        String name = file.metadata().architecture();
        Architecture a;
        try {
            a = of(name);
        } catch (IllegalArgumentException e) {
            a = null;
        }
        if (a == null || !a.decoder) {
            throw new IllegalArgumentException(
                    "architecture '" + name + "' is not supported for generation (supported: " + list(true) + ")");
        }
        var embedding = file.tensors().get("token_embd.weight");
        if (embedding == null) {
            throw new IllegalArgumentException(file.path().getFileName() + ": tensor token_embd.weight is missing");
        }
        return ModelConfig.read(a, file.metadata(), (int) embedding.dim(1));
    }

    /** Whether norms are RMSNorm (the llama family) rather than LayerNorm. */
    boolean rmsNorm() {
        return this == QWEN2 || this == LLAMA;
    }

    /** The decoder's weights on one device, read with {@code weights}: its tensor schema and forward pass. */
    public <M, V> Transformer<M, V> load(ModelConfig config, Weights<M, V> weights) {
        return switch (this) {
            case STARCODER -> StarCoder.load(config, weights);
            // qwen2 rotates NEOX pairs (i, i + d/2), llama adjacent pairs.
            case QWEN2 -> Llama.load(config, weights, true);
            case LLAMA -> Llama.load(config, weights, false);
            case BERT, NOMIC_BERT -> throw new IllegalArgumentException(id + " is an embedding model, not a decoder");
        };
    }

    @Override
    public String toString() {
        return id;
    }
}
