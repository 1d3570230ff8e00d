package dev.catnap.engine.cpu;

/**
 * GELU as ggml computes it on the CPU: the tanh approximation looked up in a table indexed by the input rounded to
 * F16, holding F16-rounded results; inputs at or below -10 give 0, at or above 10 give x. Matching the table, not the
 * formula, keeps the logits within 1e-5 of llama.cpp instead of 1e-4.
 */
final class Gelu {
    private static final float[] TABLE = build();

    private Gelu() {}

    private static float[] build() {
        float[] t = new float[1 << 16];
        for (int h = 0; h < t.length; h++) {
            float x = Float.float16ToFloat((short) h);
            t[h] = Float.float16ToFloat(Float.floatToFloat16(formula(x)));
        }
        return t;
    }

    static float formula(float x) {
        final float sqrt2OverPi = 0.79788456080286535587989211986876f;
        return 0.5f * x * (1.0f + (float) Math.tanh(sqrt2OverPi * x * (1.0f + 0.044715f * x * x)));
    }

    static float apply(float x) {
        if (x <= -10f) return 0f;
        if (x >= 10f) return x;
        return TABLE[Float.floatToFloat16(x) & 0xFFFF];
    }
}
