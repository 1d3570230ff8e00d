package dev.catnap.server;

import dev.catnap.engine.tokenizer.Prompt;

/**
 * What the HTTP layer needs from a language model: text in, text pieces out, one generation per call.
 * The engine adapter ({@link EngineTextModel}) implements it over {@code dev.catnap.engine.LanguageModel};
 * keeping the port this small lets the protocol code be tested without model weights.
 */
public interface TextModel extends AutoCloseable {

    /**
     * Positions (prompt plus new tokens) one generation may take; a prompt longer than this minus the new tokens is
     * clipped from the front.
     */
    int maxPositions();

    /**
     * Starts one generation. Pieces reach {@code sink} in order, one call per generated token, possibly from
     * another thread; {@link Sink#finished} is called exactly once at the end, also after {@link Handle#cancel()}.
     */
    Handle generate(Request request, Sink sink);

    @Override
    void close();

    /**
     * Special-token text (such as {@code <fim_prefix>}) is that token only in the prompt's {@link Prompt.Template}
     * parts; in its {@link Prompt.Text} parts (the user's code and messages) it is plain text.
     */
    record Request(Prompt prompt, int maxNewTokens, double temperature, long seed) {
        public Request {
            if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be at least 1");
        }
    }

    interface Sink {
        /** One generated token's text (may be "" while a UTF-8 sequence is incomplete); false stops the generation. */
        boolean accept(String piece);

        void finished(Outcome outcome);
    }

    interface Handle {
        /** Stops the generation and frees its slot; idempotent. */
        void cancel();
    }

    enum Finish {
        END_OF_TEXT,
        LENGTH,
        STOPPED,
        CANCELLED,
        ERROR
    }

    /** promptTokens: the tokens actually fed (after clipping); error is non-null only for {@link Finish#ERROR}. */
    record Outcome(Finish finish, int promptTokens, int generatedTokens, Throwable error) {}
}
