package dev.catnap.engine;

/** A prompt (token ids), how many tokens to generate at most, and how to pick them. */
public record GenerationRequest(int[] promptTokens, int maxNewTokens, SamplingParams sampling) {
    public GenerationRequest {
        if (promptTokens == null || promptTokens.length == 0) throw new IllegalArgumentException("the prompt is empty");
        if (maxNewTokens < 1)
            throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
        if (sampling == null) throw new IllegalArgumentException("sampling parameters are missing");
        promptTokens = promptTokens.clone();
    }

    @Override
    public int[] promptTokens() {
        return promptTokens.clone();
    }
}
