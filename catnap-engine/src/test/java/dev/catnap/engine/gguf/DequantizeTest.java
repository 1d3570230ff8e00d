package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class DequantizeTest {
    record Case(GGMLType type, String gguf, String expected) {
        @Override
        public String toString() {
            return type.toString();
        }
    }

    /** Every type listed in quant/index.json, with its files. */
    static Stream<Case> fixtureTypes() throws IOException {
        String index = Files.readString(Fixtures.quant("index.json"));
        Matcher m = Pattern.compile(
                        "\"type\":\\s*\"(\\w+)\",\\s*\"ggml_type_id\":\\s*(\\d+),\\s*\"gguf\":\\s*\"([^\"]+)\"[^}]*?\"expected_values_file\":\\s*\"([^\"]+)\"")
                .matcher(index);
        List<Case> cases = new ArrayList<>();
        while (m.find()) {
            GGMLType type = GGMLType.valueOf(m.group(1));
            assertThat(type.id()).isEqualTo(Integer.parseInt(m.group(2)));
            cases.add(new Case(type, m.group(3), m.group(4)));
        }
        assertThat(cases).hasSize(10);
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtureTypes")
    void matchesLlamaCppBitForBit(Case c) throws IOException {
        float[] expected = Fixtures.readF32(Fixtures.quant(c.expected()));
        try (GGUFFile f = GGUFFile.open(Fixtures.quant(c.gguf()))) {
            GGUFTensor t = f.tensor("quant_test.weight");
            assertThat(t.type()).isEqualTo(c.type());
            assertThat(Dequantize.supports(c.type())).isTrue();
            float[] got = Dequantize.dequantize(t);
            assertThat(got).hasSameSizeAs(expected);
            for (int i = 0; i < expected.length; i++) {
                int at = i;
                assertThat(Float.floatToRawIntBits(got[i]))
                        .withFailMessage(
                                () -> c.type() + " value " + at + ": got " + got[at] + ", llama.cpp " + expected[at])
                        .isEqualTo(Float.floatToRawIntBits(expected[i]));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtureTypes")
    void unalignedRangesEqualTheSameSliceOfTheWhole(Case c) throws IOException {
        float[] expected = Fixtures.readF32(Fixtures.quant(c.expected()));
        try (GGUFFile f = GGUFFile.open(Fixtures.quant(c.gguf()))) {
            GGUFTensor t = f.tensor("quant_test.weight");
            int[][] ranges = {{0, 1}, {5, 300}, {255, 2}, {250, 600}, {4095, 1}, {31, 33}, {1000, 0}, {3000, 1096}};
            for (int[] r : ranges) {
                float[] dst = new float[r[1] + 3];
                Dequantize.dequantize(t.type(), t.data(), r[0], dst, 3, r[1]);
                for (int i = 0; i < r[1]; i++) assertThat(dst[3 + i]).isEqualTo(expected[r[0] + i]);
                assertThat(dst[0]).isZero();
            }
        }
    }

    @Test
    void rejectsRangesOutsideTheData() throws IOException {
        try (GGUFFile f = GGUFFile.open(Fixtures.quant("quant-q4_k.gguf"))) {
            GGUFTensor t = f.tensor("quant_test.weight");
            assertThatThrownBy(() -> Dequantize.dequantize(t.type(), t.data(), 4000, new float[200], 0, 200))
                    .isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("Q4_K");
            assertThatThrownBy(() -> Dequantize.dequantize(t.type(), t.data(), -1, new float[2], 0, 1))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> Dequantize.dequantize(t.type(), t.data(), 0, new float[10], 5, 6))
                    .isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void rejectsTypesItCannotDecode() {
        MemorySegment data = MemorySegment.ofArray(new byte[GGMLType.Q2_K.blockBytes()]);
        assertThat(Dequantize.supports(GGMLType.Q2_K)).isFalse();
        assertThatThrownBy(() -> Dequantize.dequantize(GGMLType.Q2_K, data, 0, new float[256], 0, 256))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Q2_K");
    }

    @Test
    void decodesHandPackedQ8_0AndQ4_0Blocks() {
        byte[] q8 = new byte[34];
        q8[0] = 0x00;
        q8[1] = 0x38; // 0.5 in F16
        for (int j = 0; j < 32; j++) q8[2 + j] = (byte) (j - 16);
        float[] out = new float[32];
        Dequantize.dequantize(GGMLType.Q8_0, MemorySegment.ofArray(q8), 0, out, 0, 32);
        for (int j = 0; j < 32; j++) assertThat(out[j]).isEqualTo((j - 16) * 0.5f);

        byte[] q4 = new byte[18];
        q4[1] = 0x40; // 2.0 in F16
        q4[2] = (byte) 0xf0; // element 0: low nibble 0 -> -8; element 16: high nibble 15 -> 7
        Dequantize.dequantize(GGMLType.Q4_0, MemorySegment.ofArray(q4), 0, out, 0, 32);
        assertThat(out[0]).isEqualTo(-16f);
        assertThat(out[16]).isEqualTo(14f);
        assertThat(out[1]).isEqualTo(-16f);
    }
}
