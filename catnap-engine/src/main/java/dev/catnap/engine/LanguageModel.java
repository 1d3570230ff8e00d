package dev.catnap.engine;

import dev.catnap.engine.gguf.GGUFMetadata;
import dev.catnap.engine.tokenizer.Tokenizer;

/** A decoder-only model (starcoder, qwen2, llama) with its continuous batch; {@link Engine} builds them. */
public interface LanguageModel extends AutoCloseable {
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
