package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Activation rows rounded to Q8_0 the way ggml does before a product with Q8_0 or Q4_0 weights: per block of 32
 * values, {@code d = amax / 127} (kept as an F16, as ggml stores it) and {@code q = round(x * 127 / amax)}, rounding
 * half to even as ggml's AVX2 path does. The block sums of the integer products are then exact, which is what makes
 * our logits agree with llama.cpp's to float rounding instead of to 1e-2.
 *
 * <p>Each row is kept as {@code q} (shorts) and {@code d}, which the integer kernels of {@link QuantizedDot}
 * multiply; single tokens also as {@code spread}, the same integers as floats in those kernels' lane order, for
 * the exact tiles, and before Q4_0 weights in pairs as {@code pairs}; prompt rows are transposed from {@code q} and {@code d} for {@link PromptTiles}. One instance
 * belongs to one backend and is refilled by every product; it is not for concurrent use.
 */
final class Q8Activations {
    static final int BLOCK = 32;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final float ROUNDER = 0x1.8p23f;

    short[] q = new short[0];
    float[] d = new float[0];
    float[] spread = new float[0];
    /** Single tokens arranged for Q4_0 weights in {@link RowGroups.Kind#Q4_PAIRS}: {@link QuantizedDot#q4PairActivations}. */
    short[] pairs = new short[0];

    private int n;
    private int cols;

    /**
     * Quantizes rows {@code [0, n)} of width {@code cols} (a multiple of 32) of {@code x} for a product with {@code
     * type} weights; rows {@code [0, oneTokenRows)} are also spread for {@link QuantizedDot}'s exact tiles of that type
     * when there are enough of them.
     */
    void quantize(GGMLType type, float[] x, int n, int cols, int oneTokenRows) {
        int count = n * cols;
        if (q.length < count) q = new short[count];
        if (d.length < count / BLOCK) d = new float[count / BLOCK];
        boolean spreads = QuantizedDot.usesTiles(oneTokenRows);
        if (spreads && spread.length < oneTokenRows * cols) spread = new float[oneTokenRows * cols];
        this.n = n;
        this.cols = cols;
        for (int b = 0, blocks = count / BLOCK; b < blocks; b++) quantizeBlock(x, b * BLOCK, b);
        if (spreads) {
            for (int o = 0; o < oneTokenRows * cols; o += BLOCK) QuantizedDot.spreadBlock(type, q, o, spread, o);
        }
        if (type == GGMLType.Q4_0 && RowGroups.applies(type, cols)) {
            int per = QuantizedDot.pairShorts(cols);
            if (pairs.length < oneTokenRows * per) pairs = new short[oneTokenRows * per];
            for (int t = 0; t < oneTokenRows; t++) QuantizedDot.q4PairActivations(q, t * cols, cols, pairs, t * per);
        }
    }

    int rows() {
        return n;
    }

    int cols() {
        return cols;
    }

    private void quantizeBlock(float[] x, int o, int b) {
        FloatVector v0 = FloatVector.fromArray(F, x, o);
        FloatVector v1 = FloatVector.fromArray(F, x, o + 8);
        FloatVector v2 = FloatVector.fromArray(F, x, o + 16);
        FloatVector v3 = FloatVector.fromArray(F, x, o + 24);
        float amax = v0.abs().max(v1.abs()).max(v2.abs().max(v3.abs())).reduceLanes(VectorOperators.MAX);
        d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
        float id = amax != 0f ? 127f / amax : 0f;
        // x * id is within [-127, 127]; adding and subtracting 1.5 * 2^23 rounds it to the nearest integer, ties to
        // even, exactly like _mm256_round_ps(_MM_ROUND_NEAREST).
        store(v0, id, o);
        store(v1, id, o + 8);
        store(v2, id, o + 16);
        store(v3, id, o + 24);
    }

    private void store(FloatVector v, float id, int o) {
        FloatVector r = v.mul(id).add(ROUNDER).sub(ROUNDER);
        IntVector i = (IntVector) r.convertShape(VectorOperators.F2I, IntVector.SPECIES_256, 0);
        ((ShortVector) i.convertShape(VectorOperators.I2S, ShortVector.SPECIES_128, 0)).intoArray(q, o);
    }
}
