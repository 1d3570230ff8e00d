package dev.catnap.engine;

import dev.catnap.engine.gguf.GGUFMetadata;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;

/** A decoder-only model (starcoder, qwen2, llama) with its continuous batch. */
public interface LanguageModel extends AutoCloseable {
    /** Maps the file and starts the decode thread. Unsupported architectures or tensor types are IllegalArgumentExceptions. */
    static LanguageModel load(Path gguf, EngineOptions options) throws IOException {
        return dev.catnap.engine.batch.BatchedModel.load(gguf, options);
    }

    String architecture();

    int contextLength();

    Tokenizer tokenizer();

    GGUFMetadata metadata();

    /**
     * Joins the continuous batch; the sink is called from the engine's decode thread. Throws
     * ContextOverflowException (IllegalArgumentException) if prompt+maxNewTokens exceeds the context.
     */
    GenerationHandle submit(GenerationRequest request, TokenSink sink);

    @Override
    void close();
}
