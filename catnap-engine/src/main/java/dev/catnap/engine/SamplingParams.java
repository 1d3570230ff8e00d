package dev.catnap.engine;

/**
 * How the next token is chosen from the logits, in llama.cpp's order: penalties over the last {@code penaltyLastN}
 * tokens, then top-k, top-p, min-p, temperature, then a seeded random draw. Temperature 0 (or below) is greedy:
 * the largest logit, the lowest id on ties. {@code topK} 0 or less, {@code topP} 1, {@code minP} 0,
 * {@code repetitionPenalty} 1 and {@code presencePenalty} 0 turn the respective step off.
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        int penaltyLastN,
        long seed) {
    public SamplingParams {
        if (Float.isNaN(temperature)) throw new IllegalArgumentException("temperature is NaN");
        if (!(topP > 0f && topP <= 1f)) throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        if (!(minP >= 0f && minP <= 1f)) throw new IllegalArgumentException("minP must be in [0, 1], got " + minP);
        if (!(repetitionPenalty > 0f))
            throw new IllegalArgumentException("repetitionPenalty must be positive, got " + repetitionPenalty);
        if (Float.isNaN(presencePenalty)) throw new IllegalArgumentException("presencePenalty is NaN");
        if (penaltyLastN < 0)
            throw new IllegalArgumentException("penaltyLastN must not be negative, got " + penaltyLastN);
    }

    /** What Tabby asks llama.cpp for: temperature 0.1, top-k 40, top-p 0.95, min-p 0.05, no penalties. */
    public static SamplingParams tabbyDefaults() {
        return new SamplingParams(0.1f, 40, 0.95f, 0.05f, 1f, 0f, 64, 0L);
    }

    /** Argmax, lowest id on ties. */
    public static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 64, 0L);
    }

    public SamplingParams withSeed(long seed) {
        return new SamplingParams(
                temperature, topK, topP, minP, repetitionPenalty, presencePenalty, penaltyLastN, seed);
    }

    public SamplingParams withTemperature(float temperature) {
        return new SamplingParams(
                temperature, topK, topP, minP, repetitionPenalty, presencePenalty, penaltyLastN, seed);
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }
}
