package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.Fixtures;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MatMulTest {

    @Test
    void halfPrecisionWeightsWidenExactly() {
        // A 64 x 1024 F16 matrix holding every half once; x = e_c reads column c back through the vector kernel.
        int n = 1 << 16;
        MemorySegment all = Arena.ofAuto().allocate(n * 2L);
        for (int i = 0; i < n; i++) all.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2L, (short) i);
        var w = new GGUFTensor("all_halves", dev.catnap.engine.gguf.GGMLType.F16, new long[] {64, 1024}, all);
        float[] out = new float[1024];
        try (var backend = new CpuBackend(1)) {
            for (int c = 0; c < 64; c++) {
                float[] x = new float[64];
                x[c] = 1f;
                backend.matmul(w, x, out, 1);
                for (int r = 0; r < 1024; r++) {
                    if ((r & 511) >= 496) continue; // rows holding infinities and NaNs: 0 * inf is NaN
                    assertThat(out[r]).as("half 0x%04x", r * 64 + c).isEqualTo(Float.float16ToFloat((short)
                            (r * 64 + c)));
                }
            }
        }
    }

    /**
     * ggml's quantize_row_q8_0 written out plainly: per block of 32, d = amax / 127 stored as an F16, and
     * q = round(x * 127 / amax), ties to even (its AVX2 form); the values returned are d * q.
     */
    static float[] roundedToQ8(float[] x) {
        float[] r = new float[x.length];
        for (int b = 0; b < x.length; b += 32) {
            float amax = 0;
            for (int i = b; i < b + 32; i++) amax = Math.max(amax, Math.abs(x[i]));
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0 ? 127f / amax : 0f;
            for (int i = b; i < b + 32; i++) r[i] = (float) Math.rint(x[i] * id) * d;
        }
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0", "f16"})
    void eachRowGetsTheSameNumbersWhateverElseIsInTheBatch(String type) throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.root().resolve("quant/quant-" + type + ".gguf"));
                var backend = new CpuBackend(2)) {
            GGUFTensor w = file.tensor("quant_test.weight");
            int cols = (int) w.dim(0), rows = (int) w.dim(1);
            float[] dense = new float[cols * rows];
            dev.catnap.engine.gguf.Dequantize.dequantize(w.type(), w.data(), 0, dense, 0, dense.length);
            var random = new SplittableRandom(5);
            for (int n : new int[] {1, 2, 3, 4, 5, 9}) {
                for (int single : new int[] {0, 1, n / 2, n}) {
                    float[] x = new float[n * cols];
                    for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                    float[] out = new float[n * rows];
                    backend.matmul(w, x, out, n, single);
                    for (int t = 0; t < n; t++) {
                        boolean oneToken = t < single;
                        float[] alone = new float[rows];
                        float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
                        backend.matmul(w, xt, alone, 1, oneToken ? 1 : 0);
                        // Quantized weights meet activations rounded to Q8_0, as in ggml; F16 weights meet them as
                        // they are.
                        float[] xr = type.equals("f16") ? xt : roundedToQ8(xt);
                        for (int r = 0; r < rows; r++) {
                            assertThat(out[t * rows + r])
                                    .as("n=%d, %d one-token rows: token %d row %d", n, single, t, r)
                                    .isEqualTo(alone[r]);
                            var ref = DenseProduct.of(dense, r, cols, xr, 0);
                            assertThat((double) alone[r])
                                    .as("%s row %d", oneToken ? "one token" : "prompt row", r)
                                    .isCloseTo(ref.sum(), ref.tolerance());
                        }
                    }
                }
            }
        }
    }

    /**
     * One backend, products of 64, 192, 320, 2048 and again 64 columns: its per-thread scratch arrays (widened rows, the
     * prompt tiles' running sums and block scales) grow with the columns, each on its own. Every product, with
     * single tokens and prompt rows in it, is checked against a double reference. (From 64 to 192 columns the
     * widened rows still fit the one-token tiles' 256 floats while the block scales outgrow theirs.)
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "F16"})
    void oneBackendServesProductsOfGrowingWidth(String name) {
        var type = dev.catnap.engine.gguf.GGMLType.valueOf(name);
        var random = new SplittableRandom(17);
        int rows = 40, n = 20, single = 2;
        try (var backend = new CpuBackend(2)) {
            for (int cols : new int[] {64, 192, 320, 2048, 64}) {
                float[] values = new float[rows * cols];
                for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
                byte[] encoded = dev.catnap.engine.gguf.Quantize.quantize(type, values);
                MemorySegment data = Arena.ofAuto().allocate(encoded.length, 64);
                data.copyFrom(MemorySegment.ofArray(encoded));
                var w = new GGUFTensor("w" + cols, type, new long[] {cols, rows}, data);
                float[] dense = new float[rows * cols];
                dev.catnap.engine.gguf.Dequantize.dequantize(type, data, 0, dense, 0, dense.length);
                float[] x = new float[n * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                float[] out = new float[n * rows];
                backend.matmul(w, x, out, n, single);
                for (int t = 0; t < n; t++) {
                    float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
                    float[] xr = type == dev.catnap.engine.gguf.GGMLType.F16 ? xt : roundedToQ8(xt);
                    for (int r = 0; r < rows; r++) {
                        var ref = DenseProduct.of(dense, r, cols, xr, 0);
                        assertThat((double) out[t * rows + r])
                                .as("%d columns, token %d, row %d", cols, t, r)
                                .isCloseTo(ref.sum(), ref.tolerance());
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0"})
    void withoutRoundingActivationsStayFloat32(String type) throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.root().resolve("quant/quant-" + type + ".gguf"));
                var backend = new CpuBackend(1, false)) {
            GGUFTensor w = file.tensor("quant_test.weight");
            int cols = (int) w.dim(0), rows = (int) w.dim(1);
            float[] dense = new float[cols * rows];
            dev.catnap.engine.gguf.Dequantize.dequantize(w.type(), w.data(), 0, dense, 0, dense.length);
            var random = new SplittableRandom(9);
            float[] x = new float[cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[rows];
            backend.matmul(w, x, out, 1, 1);
            for (int r = 0; r < rows; r++) {
                var ref = DenseProduct.of(dense, r, cols, x, 0);
                assertThat((double) out[r]).as("row %d", r).isCloseTo(ref.sum(), ref.tolerance());
            }
        }
    }

    @org.junit.jupiter.api.Test
    void oneTokenRowsOutsideTheBatchAreRefused() {
        var w = new GGUFTensor(
                "w",
                dev.catnap.engine.gguf.GGMLType.F32,
                new long[] {32, 4},
                Arena.ofAuto().allocate(32 * 4 * 4L));
        try (var backend = new CpuBackend(1)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> backend.matmul(w, new float[64], new float[8], 2, 3))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("3 one-token rows of 2");
        }
    }
}
