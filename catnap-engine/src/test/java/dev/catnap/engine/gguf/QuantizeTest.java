package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class QuantizeTest {
    /** The quant/ fixtures were made by llama-quantize, whose bytes equal ggml's reference quantizers (README). */
    @ParameterizedTest(name = "{0}")
    @EnumSource(
            value = GGMLType.class,
            names = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void reproducesLlamaQuantizeByteForByte(GGMLType type) throws IOException {
        float[] original = Fixtures.readF32(Fixtures.quant("original.f32"));
        try (GGUFFile f = GGUFFile.open(Fixtures.quant("quant-" + type.name().toLowerCase() + ".gguf"))) {
            byte[] expected = f.tensor("quant_test.weight").data().toArray(ValueLayout.JAVA_BYTE);
            assertThat(Quantize.quantize(type, original)).isEqualTo(expected);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(
            value = GGMLType.class,
            names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void roundTripErrorStaysWithinTheTypesStep(GGMLType type) {
        Random rnd = new Random(42);
        float[] values = new float[4096];
        for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian() * (i < 2048 ? 1 : 0.01f);
        float[] back = new float[values.length];
        Dequantize.dequantize(
                type,
                java.lang.foreign.MemorySegment.ofArray(Quantize.quantize(type, values)),
                0,
                back,
                0,
                values.length);
        int bs = type.blockSize();
        for (int b = 0; b < values.length / bs; b++) {
            float amax = 0, min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int j = 0; j < bs; j++) {
                float v = values[b * bs + j];
                amax = Math.max(amax, Math.abs(v));
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            // half a quantization step, plus slack for the F16-rounded scale
            float bound = switch (type) {
                case F32 -> 0;
                case F16 -> Math.max(amax * 0x1p-11f, 0x1p-25f); // half the step of F16 subnormals
                case BF16 -> amax * 0x1p-8f;
                case Q8_0 -> amax / 127 * 0.51f + amax * 0x1p-10f;
                case Q4_0 -> amax / 8 * 1.01f;
                case Q5_0 -> amax / 16 * 1.01f;
                case Q4_1 -> (max - min) / 15 * 0.51f + amax * 0x1p-10f;
                case Q5_1 -> (max - min) / 31 * 0.51f + amax * 0x1p-10f;
                default -> throw new AssertionError(type);
            };
            for (int j = 0; j < bs; j++) {
                int i = b * bs + j;
                assertThat(Math.abs(back[i] - values[i]))
                        .as("%s value %d", type, i)
                        .isLessThanOrEqualTo(bound);
            }
        }
    }

    @Test
    void q8_0RoundsHalfwayCasesAwayFromZeroLikeRoundf() {
        float[] block = new float[32];
        block[0] = 127f; // scale 1.0 exactly
        block[1] = 2.5f;
        block[2] = -2.5f;
        block[3] = -0.5f;
        byte[] q = Quantize.quantize(GGMLType.Q8_0, block);
        assertThat(q[2 + 1]).isEqualTo((byte) 3);
        assertThat(q[2 + 2]).isEqualTo((byte) -3);
        assertThat(q[2 + 3]).isEqualTo((byte) -1);
    }

    @Test
    void allZeroBlocksEncodeToNegativeZeroScaleAsGgmlDoes() {
        // ggml computes d = max / -8 = -0.0 and stores it as F16 0x8000 (the fixture's zero row agrees)
        byte[] q = Quantize.quantize(GGMLType.Q4_0, new float[32]);
        assertThat(q[0]).isZero();
        assertThat(q[1]).isEqualTo((byte) 0x80);
        for (int j = 2; j < 18; j++) assertThat(q[j]).isEqualTo((byte) 0x88);
    }

    @Test
    void rejectsPartialBlocksAndUnsupportedTypes() {
        assertThatThrownBy(() -> Quantize.quantize(GGMLType.Q8_0, new float[33]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiple of 32");
        assertThatThrownBy(() -> Quantize.quantize(GGMLType.Q4_K, new float[256]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Q4_K");
    }
}
