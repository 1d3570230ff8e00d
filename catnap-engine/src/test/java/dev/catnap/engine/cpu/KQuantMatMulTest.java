package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.Fixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * BF16 and k-quant matmul against {@link Dequantize} (ggml's reference decoding): the weights the kernels use are
 * Dequantize's values bit for bit, a token's result does not depend on its batch, and the dot products agree with a
 * double-precision reference within {@link #RELATIVE} times the sum of |w*x| (the bound for float32 FMA accumulation
 * over a few hundred terms per lane is below 6e-6).
 */
class KQuantMatMulTest {
    private static final double RELATIVE = 1e-5;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Random blocks of {@code type}: any bytes are a valid block once the f16 scales are finite. */
    static MemorySegment randomBlocks(
            GGMLType type, long cols, long rows, SplittableRandom random, float scaleMagnitude) {
        long elements = cols * rows;
        MemorySegment seg = Arena.ofAuto().allocate(type.bytesFor(elements));
        for (long i = 0; i < seg.byteSize(); i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
        long blocks = elements / type.blockSize();
        for (long b = 0; b < blocks; b++) {
            long at = b * type.blockBytes();
            switch (type) {
                case Q4_K, Q5_K -> {
                    seg.set(I16, at, scale(random, scaleMagnitude));
                    seg.set(I16, at + 2, scale(random, scaleMagnitude));
                }
                case Q6_K -> seg.set(I16, at + 208, scale(random, scaleMagnitude));
                case BF16 ->
                    seg.set(I16, at, (short)
                            (Float.floatToRawIntBits((float) random.nextGaussian() * scaleMagnitude) >>> 16));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return seg;
    }

    /** A finite f16 of either sign, between 1/16 and 1 of {@code magnitude}, or now and then a subnormal or zero. */
    private static short scale(SplittableRandom random, float magnitude) {
        int pick = random.nextInt(16);
        if (pick == 0) return 0;
        if (pick == 1) return (short) random.nextInt(1, 0x400);
        float v = magnitude * (float) random.nextDouble(1.0 / 16, 1.0) * (random.nextBoolean() ? 1 : -1);
        return Float.floatToFloat16(v);
    }

    private static float[] dense(GGUFTensor w) {
        float[] d = new float[(int) w.elementCount()];
        Dequantize.dequantize(w.type(), w.data(), 0, d, 0, d.length);
        return d;
    }

    /**
     * Checks out (n tokens, rows each) against the dense weights: within RELATIVE * sum|w*x| of the double dot, and
     * bit-equal to running each token alone.
     */
    private static void checkAgainstReference(CpuBackend backend, GGUFTensor w, float[] dense, float[] x, int n) {
        int cols = (int) w.dim(0), rows = (int) w.dim(1);
        float[] out = new float[n * rows];
        backend.matmul(w, x, out, n);
        for (int t = 0; t < n; t++) {
            float[] xt = Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            float[] one = new float[rows];
            backend.matmul(w, xt, one, 1);
            for (int r = 0; r < rows; r++) {
                double ref = 0, magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    double p = (double) dense[r * cols + c] * xt[c];
                    ref += p;
                    magnitude += Math.abs(p);
                }
                assertThat(out[t * rows + r])
                        .as("%s n=%d token %d row %d: batch = one token", w.type(), n, t, r)
                        .isEqualTo(one[r]);
                assertThat(Math.abs(one[r] - ref))
                        .as("%s n=%d token %d row %d: %s vs %s", w.type(), n, t, r, one[r], ref)
                        .isLessThanOrEqualTo(RELATIVE * magnitude);
            }
        }
    }

    private static float[] gaussian(SplittableRandom random, int count) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    @ParameterizedTest
    @ValueSource(strings = {"q4_k", "q5_k", "q6_k", "bf16"})
    void llamaCppQuantizedFixtureMatchesDequantizedReference(String type) throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.root().resolve("quant/quant-" + type + ".gguf"));
                var backend = new CpuBackend(2)) {
            GGUFTensor w = file.tensor("quant_test.weight");
            assertThat(w.type().name()).isEqualToIgnoringCase(type);
            float[] dense = dense(w);
            var random = new SplittableRandom(11);
            for (int n : new int[] {1, 2, 3, 4, 5, 9}) {
                checkAgainstReference(backend, w, dense, gaussian(random, n * (int) w.dim(0)), n);
            }
        }
    }

    /**
     * 37 rows (two threads' chunks of 16 and a tail of 5: 4-row, 2-row and 1-row tiles) of 3 super-blocks; BF16 rows
     * of 100 values end in a part shorter than a vector.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q5_K", "Q6_K", "BF16"})
    void randomBlocksMatchDequantizedReferenceOnEveryTileShape(String typeName) {
        GGMLType type = GGMLType.valueOf(typeName);
        int cols = type == GGMLType.BF16 ? 100 : 768;
        int rows = 37;
        var random = new SplittableRandom(typeName.hashCode());
        var w = new GGUFTensor(
                "random." + typeName,
                type,
                new long[] {cols, rows},
                randomBlocks(type, cols, rows, random, type == GGMLType.BF16 ? 1f : 0.5f));
        float[] dense = dense(w);
        try (var backend = new CpuBackend(2)) {
            for (int n : new int[] {1, 2, 3, 4, 6, 7})
                checkAgainstReference(backend, w, dense, gaussian(random, n * cols), n);
        }
    }

    /**
     * Unit activations read single weights back: x = e_c gives exactly w[r][c], which shows the kernels decode every
     * position of a block to Dequantize's value, in the one-token kernel and (all columns as one batch) in the
     * widened rows.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q5_K", "Q6_K", "BF16"})
    void unitActivationsReadBackDequantizedWeightsExactly(String typeName) {
        GGMLType type = GGMLType.valueOf(typeName);
        int cols = type == GGMLType.BF16 ? 72 : 512;
        int rows = 6;
        var w = new GGUFTensor(
                "unit." + typeName,
                type,
                new long[] {cols, rows},
                randomBlocks(type, cols, rows, new SplittableRandom(3), 2f));
        float[] dense = dense(w);
        float[] identity = new float[cols * cols];
        for (int c = 0; c < cols; c++) identity[c * cols + c] = 1f;
        float[] all = new float[cols * rows];
        try (var backend = new CpuBackend(2)) {
            backend.matmul(w, identity, all, cols);
            float[] one = new float[rows];
            for (int c = 0; c < cols; c++) {
                backend.matmul(w, Arrays.copyOfRange(identity, c * cols, (c + 1) * cols), one, 1);
                for (int r = 0; r < rows; r++) {
                    float expected = dense[r * cols + c] + 0f; // -0 weights sum to +0
                    assertThat(one[r]).as("one token, row %d col %d", r, c).isEqualTo(expected);
                    assertThat(all[c * rows + r])
                            .as("batch, row %d col %d", r, c)
                            .isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void supportsTheNewTypesAndRejectsPartialSuperBlocks() {
        try (var backend = new CpuBackend(1)) {
            for (GGMLType t : new GGMLType[] {GGMLType.BF16, GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K}) {
                assertThat(backend.supports(t)).as(t.toString()).isTrue();
                assertThat(dev.catnap.engine.gguf.Dequantize.supports(t))
                        .as(t.toString())
                        .isTrue();
            }
            assertThat(backend.supports(GGMLType.Q3_K)).isFalse();
            // 128 values per row: a valid byte count for two half rows, but not whole super-blocks
            var w = new GGUFTensor(
                    "half_blocks",
                    GGMLType.Q4_K,
                    new long[] {128, 4},
                    randomBlocks(GGMLType.Q4_K, 256, 2, new SplittableRandom(1), 1f));
            assertThatThrownBy(() -> backend.matmul(w, new float[128], new float[4], 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a multiple of the Q4_K block size 256");
        }
    }

    @Test
    void embeddingRowsOfKQuantTablesAreDequantizedValues() {
        int cols = 512, rows = 5;
        var random = new SplittableRandom(8);
        for (GGMLType type : new GGMLType[] {GGMLType.Q4_K, GGMLType.Q5_K, GGMLType.Q6_K}) {
            var table =
                    new GGUFTensor("embd", type, new long[] {cols, rows}, randomBlocks(type, cols, rows, random, 1f));
            float[] dense = dense(table);
            int[] ids = {4, 0, 2};
            float[] out = new float[ids.length * cols];
            try (var backend = new CpuBackend(1)) {
                backend.embed(table, ids, out);
            }
            for (int t = 0; t < ids.length; t++) {
                assertThat(Arrays.copyOfRange(out, t * cols, (t + 1) * cols))
                        .as("%s id %d", type, ids[t])
                        .containsExactly(Arrays.copyOfRange(dense, ids[t] * cols, (ids[t] + 1) * cols));
            }
        }
    }
}
