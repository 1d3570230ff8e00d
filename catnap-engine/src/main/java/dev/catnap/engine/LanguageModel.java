package dev.catnap.engine;

import dev.catnap.engine.gguf.GGUFMetadata;
import dev.catnap.engine.tokenizer.Tokenizer;

/** A decoder-only model (starcoder, qwen2, llama) with its continuous batch; {@link Engine} builds them. */
public interface LanguageModel extends AutoCloseable {
    String architecture();

    int contextLength();

    /**
     * The most positions (prompt plus new tokens) one sequence may take: the context, or less where the KV-cache
     * budget holds fewer. A request within it is never refused for its length; ask once, fit the prompt to it.
     */
    int maxPositions();

    Tokenizer tokenizer();

    GGUFMetadata metadata();

    /**
     * Joins the continuous batch; the sink is called from the engine's decode thread. Throws
     * ContextOverflowException (IllegalArgumentException) if prompt+maxNewTokens exceeds {@link #maxPositions()}.
     */
    GenerationHandle submit(GenerationRequest request, TokenSink sink);

    @Override
    void close();
}
