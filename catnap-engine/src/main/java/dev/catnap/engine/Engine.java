package dev.catnap.engine;

import dev.catnap.engine.batch.BatchedModel;
import dev.catnap.engine.cpu.CpuBackend;
import dev.catnap.engine.cpu.CpuDecoder;
import dev.catnap.engine.cuda.CudaDecoders;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Architecture;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.Encoders;
import dev.catnap.engine.model.ModelConfig;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The engine's composition root: the one place that knows the devices and builds models for them. Everything below
 * it is written against {@link dev.catnap.engine.model.Ops} (decoders) or the CPU's backend (encoders) and never
 * chooses a device itself.
 */
public final class Engine {
    private Engine() {}

    /**
     * A decoder-only model (starcoder, qwen2, llama) behind its continuous batch, on the options' device. Maps the
     * file and starts the decode thread. Unsupported architectures or tensor types are IllegalArgumentExceptions.
     */
    public static LanguageModel languageModel(Path gguf, EngineOptions options) throws IOException {
        GGUFFile file = GGUFFile.open(gguf);
        try {
            return languageModel(file, Tokenizer.fromGGUF(file.metadata()), options);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** A language model over an open file with a given tokenizer (null for token ids only); it closes the file. */
    public static LanguageModel languageModel(GGUFFile file, Tokenizer tokenizer, EngineOptions options) {
        return BatchedModel.create(file, tokenizer, decoder(file, options), options);
    }

    /** The forward pass of the file's decoder on the options' device; the caller owns it, not the file. */
    public static Decoder decoder(GGUFFile file, EngineOptions options) {
        ModelConfig config = Architecture.decoderConfig(file);
        return switch (options.device()) {
            case CPU -> CpuDecoder.load(file, config, new CpuBackend(options.threads()));
            case CUDA -> CudaDecoders.load(file, config, options.maxSequences());
        };
    }

    /**
     * An embedding model (bert, nomic-bert). Encoders run on the CPU only: asking for another device is an
     * IllegalArgumentException that says so, never a silent fallback.
     */
    public static EmbeddingModel embeddingModel(Path gguf, EngineOptions options) throws IOException {
        if (options.device() != Device.CPU) {
            throw new IllegalArgumentException("embedding models run on the CPU only, not on "
                    + options.device().label() + " (load them with device cpu)");
        }
        GGUFFile file = GGUFFile.open(gguf);
        try {
            return Encoders.create(file, Tokenizer.fromGGUF(file.metadata()), new CpuBackend(options.threads()));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }
}
