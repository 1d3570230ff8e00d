package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.gguf.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The rows of prompts ({@link PromptTiles}) over shapes that reach every edge: 70 rows (a one-token product is one
 * chunk: a row block of 64, then a four-row tile and two single rows), 320 columns (several passes of column blocks), and prompts that end inside a full token block,
 * inside a one-vector block, or exactly on a block's end.
 */
class PromptTilesTest {
    private static final int COLS = 320;
    private static final int ROWS = 70;

    @ParameterizedTest
    @EnumSource(
            value = GGMLType.class,
            names = {"Q8_0", "Q4_0", "F16", "F32"})
    void promptRowsGetTheSameBitsWhateverTheBatchAndMatchTheExactSum(GGMLType type) {
        var random = new SplittableRandom(11);
        float[] values = new float[ROWS * COLS];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        byte[] bytes = Quantize.quantize(type, values);
        MemorySegment data = Arena.ofAuto().allocate(bytes.length, 64);
        data.copyFrom(MemorySegment.ofArray(bytes));
        var w = new GGUFTensor("prompt", type, new long[] {COLS, ROWS}, data);
        float[] dense = new float[ROWS * COLS];
        Dequantize.dequantize(type, data, 0, dense, 0, dense.length);
        int tokens = PromptTiles.TOKENS;
        int vector = tokens / 4;
        try (var backend = new CpuBackend(2)) {
            for (int n : new int[] {1, vector + 1, tokens, tokens + 3, 2 * tokens + vector - 1}) {
                float[] x = new float[n * COLS];
                for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                float[] out = new float[n * ROWS];
                backend.matmul(w, x, out, n, 0);
                // the same prompt behind two decoding tokens
                float[] mixed = new float[(n + 2) * ROWS];
                float[] mixedX = new float[(n + 2) * COLS];
                System.arraycopy(x, 0, mixedX, 2 * COLS, x.length);
                backend.matmul(w, mixedX, mixed, n + 2, 2);
                for (int t = 0; t < n; t++) {
                    float[] xt = Arrays.copyOfRange(x, t * COLS, (t + 1) * COLS);
                    float[] alone = new float[ROWS];
                    backend.matmul(w, xt, alone, 1, 0);
                    boolean quantized = type == GGMLType.Q8_0 || type == GGMLType.Q4_0;
                    float[] exact = quantized ? exactBlockSums(data, type, xt) : null;
                    for (int r = 0; r < ROWS; r++) {
                        float got = out[t * ROWS + r];
                        assertThat(alone[r])
                                .as("n=%d token %d row %d alone", n, t, r)
                                .isEqualTo(got);
                        assertThat(mixed[(t + 2) * ROWS + r])
                                .as("n=%d token %d row %d after decoding rows", n, t, r)
                                .isEqualTo(got);
                        if (quantized) {
                            assertThat(got).as("n=%d token %d row %d", n, t, r).isEqualTo(exact[r]);
                        } else {
                            var ref = DenseProduct.of(dense, r, COLS, xt, 0);
                            assertThat((double) got).isCloseTo(ref.sum(), ref.tolerance());
                        }
                    }
                }
            }
        }
    }

    /**
     * Q8_0 and Q4_0 rows against {@code x} rounded to Q8_0 as ggml rounds it, summed as the class promises: per
     * block the exact integer sum, then {@code acc = fma(sum, d_weight * d_activation, acc)} in block order.
     */
    private static float[] exactBlockSums(MemorySegment w, GGMLType type, float[] x) {
        int blocks = COLS / 32;
        int[] qx = new int[COLS];
        float[] dx = new float[blocks];
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int i = b * 32; i < b * 32 + 32; i++) amax = Math.max(amax, Math.abs(x[i]));
            dx[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0 ? 127f / amax : 0f;
            for (int i = b * 32; i < b * 32 + 32; i++) qx[i] = (int) Math.rint(x[i] * id);
        }
        float[] out = new float[ROWS];
        for (int r = 0; r < ROWS; r++) {
            float acc = 0;
            for (int b = 0; b < blocks; b++) {
                long off = ((long) r * blocks + b) * type.blockBytes();
                float dw = Float.float16ToFloat(w.get(ValueLayout.JAVA_SHORT_UNALIGNED, off));
                int sum = 0;
                for (int i = 0; i < 32; i++) sum += weight(w, type, off, i) * qx[b * 32 + i];
                acc = Math.fma((float) sum, dw * dx[b], acc);
            }
            out[r] = acc;
        }
        return out;
    }

    private static int weight(MemorySegment w, GGMLType type, long block, int i) {
        if (type == GGMLType.Q8_0) return w.get(ValueLayout.JAVA_BYTE, block + 2 + i);
        int packed = w.get(ValueLayout.JAVA_BYTE, block + 2 + (i % 16)) & 0xFF;
        return (i < 16 ? packed & 0x0F : packed >> 4) - 8;
    }
}
