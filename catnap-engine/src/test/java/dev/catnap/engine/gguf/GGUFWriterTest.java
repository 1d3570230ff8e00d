package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GGUFWriterTest {
    @TempDir
    Path dir;

    @Test
    void everyMetadataTypeRoundTrips() throws IOException {
        GGUFWriter w = new GGUFWriter()
                .put("u8", GGUFValueType.UINT8, 200)
                .put("i8", GGUFValueType.INT8, (byte) -100)
                .put("u16", GGUFValueType.UINT16, 65000)
                .put("i16", GGUFValueType.INT16, (short) -30000)
                .putUInt32("u32", 4_000_000_000L)
                .putInt32("i32", -2_000_000_000)
                .putUInt64("u64", -1L)
                .put("i64", GGUFValueType.INT64, Long.MIN_VALUE)
                .putFloat32("f32", 1.5e-6f)
                .put("f64", GGUFValueType.FLOAT64, Math.PI)
                .putBool("yes", true)
                .putBool("no", false)
                .putString("s", "héllo ✓")
                .putString("empty", "")
                .putArray("tokens", new GGUFArray(GGUFValueType.STRING, List.of("a", "", "<fim_prefix>")))
                .putArray("scores", GGUFArray.of(new float[] {0.5f, -1f}))
                .putArray("types", GGUFArray.of(new int[] {1, 3, 6}))
                .putArray("u32s", new GGUFArray(GGUFValueType.UINT32, new int[] {0, 7}))
                .putArray("bytes", new GGUFArray(GGUFValueType.UINT8, new byte[] {(byte) 255, 1}))
                .putArray("bools", GGUFArray.of(new boolean[] {true, false}))
                .putArray("doubles", GGUFArray.of(new double[] {2.25}))
                .putArray(
                        "nested",
                        new GGUFArray(
                                GGUFValueType.ARRAY,
                                List.of(
                                        new GGUFArray(GGUFValueType.INT16, new short[] {-1, 2}),
                                        List.of("x", "y"),
                                        List.of(new int[] {9}))))
                .putArray("none", new GGUFArray(GGUFValueType.INT64, new long[0]));
        Path file = dir.resolve("meta.gguf");
        w.write(file);
        try (GGUFFile f = GGUFFile.open(file)) {
            GGUFMetadata m = f.metadata();
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.tensors()).isEmpty();
            assertThat(m.keys())
                    .containsExactly(
                            "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "yes", "no", "s",
                            "empty", "tokens", "scores", "types", "u32s", "bytes", "bools", "doubles", "nested",
                            "none");
            assertThat(m.getInt("u8")).isEqualTo(200);
            assertThat(m.type("u8")).isEqualTo(GGUFValueType.UINT8);
            assertThat(m.getInt("i8")).isEqualTo(-100);
            assertThat(m.getInt("u16")).isEqualTo(65000);
            assertThat(m.getInt("i16")).isEqualTo(-30000);
            assertThat(m.getLong("u32")).isEqualTo(4_000_000_000L);
            assertThat(m.type("u32")).isEqualTo(GGUFValueType.UINT32);
            assertThat(m.getInt("i32")).isEqualTo(-2_000_000_000);
            assertThat(m.getLong("u64")).isEqualTo(-1L);
            assertThat(m.type("u64")).isEqualTo(GGUFValueType.UINT64);
            assertThat(m.getLong("i64")).isEqualTo(Long.MIN_VALUE);
            assertThat(m.getFloat("f32")).isEqualTo(1.5e-6f);
            assertThat(m.get("f64")).isEqualTo(Math.PI);
            assertThat(m.getBoolean("yes", false)).isTrue();
            assertThat(m.getBoolean("no", true)).isFalse();
            assertThat(m.getString("s")).isEqualTo("héllo ✓");
            assertThat(m.getString("empty")).isEmpty();
            assertThat(m.getStringArray("tokens")).containsExactly("a", "", "<fim_prefix>");
            assertThat(m.getFloatArray("scores")).containsExactly(0.5f, -1f);
            assertThat(m.getIntArray("types")).containsExactly(1, 3, 6);
            assertThat(m.arrayElementType("u32s")).isEqualTo(GGUFValueType.UINT32);
            assertThat((long[]) m.get("u32s")).containsExactly(0, 7);
            assertThat(m.arrayElementType("bytes")).isEqualTo(GGUFValueType.UINT8);
            assertThat((byte[]) m.get("bytes")).containsExactly((byte) 255, (byte) 1);
            assertThat((boolean[]) m.get("bools")).containsExactly(true, false);
            assertThat((double[]) m.get("doubles")).containsExactly(2.25);
            List<?> nested = (List<?>) m.get("nested");
            assertThat(nested).hasSize(3);
            assertThat((short[]) nested.get(0)).containsExactly((short) -1, (short) 2);
            assertThat(nested.get(1)).isEqualTo(List.of("x", "y"));
            assertThat((int[]) ((List<?>) nested.get(2)).get(0)).containsExactly(9);
            assertThat((long[]) m.get("none")).isEmpty();

            // copying metadata keeps the file's types, so the copy is byte-identical
            Path copy = dir.resolve("copy.gguf");
            new GGUFWriter().putAll(m).write(copy);
            assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(file));
        }
    }

    @Test
    void tensorsRoundTripInEveryWritableType() throws IOException {
        Random rnd = new Random(7);
        float[] values = new float[64 * 3];
        for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
        long[] shape = {64, 3};
        GGUFWriter w = new GGUFWriter().putString("general.architecture", "test");
        for (GGMLType t : List.of(
                GGMLType.F32,
                GGMLType.F16,
                GGMLType.BF16,
                GGMLType.Q8_0,
                GGMLType.Q4_0,
                GGMLType.Q4_1,
                GGMLType.Q5_0,
                GGMLType.Q5_1)) {
            w.addTensor("t." + t.name().toLowerCase(), t, shape, values);
        }
        w.addTensor("bias", GGMLType.F32, new long[] {5}, new float[] {1, 2, 3, 4, 5});
        Path file = dir.resolve("tensors.gguf");
        w.write(file);
        try (GGUFFile f = GGUFFile.open(file)) {
            assertThat(f.tensors().keySet())
                    .containsExactly(
                            "t.f32", "t.f16", "t.bf16", "t.q8_0", "t.q4_0", "t.q4_1", "t.q5_0", "t.q5_1", "bias");
            for (GGUFTensor t : f.tensors().values()) {
                if (t.name().equals("bias")) continue;
                assertThat(t.shape()).containsExactly(64, 3);
                byte[] expected = Quantize.quantize(t.type(), values);
                assertThat(t.data().toArray(ValueLayout.JAVA_BYTE)).as(t.name()).isEqualTo(expected);
            }
            assertThat(Dequantize.dequantize(f.tensor("t.f32"))).containsExactly(values);
            assertThat(Dequantize.dequantize(f.tensor("bias"))).containsExactly(1, 2, 3, 4, 5);
        }
    }

    @Test
    void layoutIsLlamaCpps() throws IOException {
        GGUFWriter w = new GGUFWriter()
                .alignment(64)
                .addTensor("a", GGMLType.F32, new long[] {3}, new float[] {1, 2, 3})
                .addTensor("b", GGMLType.Q8_0, new long[] {32, 2}, new float[64])
                .addTensor("c", GGMLType.F16, new long[] {7}, new float[7]);
        Path file = dir.resolve("layout.gguf");
        w.write(file);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).isEqualTo(0x46554747);
        assertThat(b.getInt(4)).isEqualTo(3);
        assertThat(b.getLong(8)).isEqualTo(3); // tensors
        assertThat(b.getLong(16)).isEqualTo(1); // kv
        try (GGUFFile f = GGUFFile.open(file)) {
            assertThat(f.alignment()).isEqualTo(64);
            assertThat(f.dataOffset() % 64).isZero();
            long base = f.fileOffset("a");
            assertThat(base).isEqualTo(f.dataOffset());
            assertThat(f.fileOffset("b")).isEqualTo(base + 64);
            assertThat(f.fileOffset("c")).isEqualTo(base + 64 + 128);
            // the data of every tensor is padded, the last one included
            assertThat(Files.size(file)).isEqualTo(base + 64 + 128 + 64);
        }
    }

    /** llama-quantize wrote quant-q8_0.gguf with llama.cpp's writer; ours must produce the same bytes. */
    @Test
    void rewritingALlamaCppFileGivesTheSameBytes() throws IOException {
        for (String name : List.of("quant-q8_0.gguf", "quant-q4_k.gguf")) {
            Path original = Fixtures.quant(name);
            Path copy = dir.resolve(name);
            try (GGUFFile f = GGUFFile.open(original)) {
                GGUFWriter w = new GGUFWriter().putAll(f.metadata());
                f.tensors().values().forEach(w::addTensor);
                w.write(copy);
            }
            assertThat(Files.readAllBytes(copy)).as(name).isEqualTo(Files.readAllBytes(original));
        }
        // and quantizing the original values while writing gives the Q8_0 file, byte for byte
        float[] values = Fixtures.readF32(Fixtures.quant("original.f32"));
        Path fromFloats = dir.resolve("from-floats.gguf");
        try (GGUFFile f = GGUFFile.open(Fixtures.quant("quant-q8_0.gguf"))) {
            new GGUFWriter()
                    .putAll(f.metadata())
                    .addTensor("quant_test.weight", GGMLType.Q8_0, new long[] {512, 8}, values)
                    .write(fromFloats);
        }
        assertThat(Files.readAllBytes(fromFloats)).isEqualTo(Files.readAllBytes(Fixtures.quant("quant-q8_0.gguf")));
    }

    @Test
    void rewritingAModelGivesTheSameBytes() throws IOException {
        Path original = Fixtures.model("synth-starcoder-tiny-q4_0.gguf");
        Path copy = dir.resolve("model.gguf");
        try (GGUFFile f = GGUFFile.open(original)) {
            GGUFWriter w = new GGUFWriter().putAll(f.metadata());
            f.tensors().values().forEach(w::addTensor);
            w.write(copy);
        }
        assertThat(Files.mismatch(copy, original)).isEqualTo(-1);
    }

    @Test
    void streamsTensorsFromASourceInOrderedChunks() throws IOException {
        long rows = 40, cols = 8192; // 327,680 values: more than one chunk
        long[] calls = {0, -1};
        GGUFWriter.FloatSource source = (first, dst, count) -> {
            assertThat(first).isEqualTo(calls[1] + 1);
            assertThat(first % 32).isZero();
            for (int i = 0; i < count; i++) dst[i] = (first + i) % 97 - 48;
            calls[0]++;
            calls[1] = first + count - 1;
        };
        Path file = dir.resolve("stream.gguf");
        new GGUFWriter()
                .addTensor("w", GGMLType.Q8_0, new long[] {cols, rows}, source)
                .write(file);
        assertThat(calls[0]).isGreaterThan(1);
        assertThat(calls[1]).isEqualTo(rows * cols - 1);
        try (GGUFFile f = GGUFFile.open(file)) {
            float[] row = new float[(int) cols];
            Dequantize.dequantize(GGMLType.Q8_0, f.tensor("w").data(), 39 * cols, row, 0, row.length);
            // every value is an integer in [-48, 48] and the block scale is 48/127 or 47/127... so within half a step
            for (int i = 0; i < row.length; i++)
                assertThat(row[i]).isCloseTo((39 * cols + i) % 97 - 48, org.assertj.core.data.Offset.offset(0.2f));
        }
    }

    @Test
    void rejectsWhatLlamaCppCouldNotLoad() {
        GGUFWriter w = new GGUFWriter();
        assertThatThrownBy(() -> w.addTensor("x".repeat(64), GGMLType.F32, new long[] {1}, new float[1]))
                .hasMessageContaining("1 to 63 bytes");
        assertThatThrownBy(() -> w.addTensor("q", GGMLType.Q8_0, new long[] {16, 2}, new float[32]))
                .hasMessageContaining("block size 32");
        assertThatThrownBy(() -> w.addTensor("k", GGMLType.Q4_K, new long[] {256}, new float[256]))
                .hasMessageContaining("Q4_K");
        assertThatThrownBy(() -> w.addTensor("n", GGMLType.F32, new long[] {2}, new float[3]))
                .hasMessageContaining("needs 2 values");
        assertThatThrownBy(() -> w.addTensor("e", GGMLType.F32, new long[] {4}, MemorySegment.ofArray(new byte[15])))
                .hasMessageContaining("takes 16 bytes");
        assertThatThrownBy(() -> w.addTensor("d", GGMLType.F32, new long[] {1, 2, 3, 4, 5}, new float[120]))
                .hasMessageContaining("1 to 4 dimensions");
        w.addTensor("ok", GGMLType.F32, new long[] {1}, new float[1]);
        assertThatThrownBy(() -> w.addTensor("ok", GGMLType.F32, new long[] {1}, new float[1]))
                .hasMessageContaining("duplicate");
        assertThatThrownBy(() -> w.putUInt32("neg", -1)).hasMessageContaining("does not fit UINT32");
        assertThatThrownBy(() -> w.put("u8", GGUFValueType.UINT8, 256)).hasMessageContaining("does not fit UINT8");
        assertThatThrownBy(() -> w.put("str", GGUFValueType.STRING, 5)).hasMessageContaining("STRING needs a String");
        assertThatThrownBy(() -> new GGUFArray(GGUFValueType.INT32, new float[1]))
                .hasMessageContaining("cannot hold");
        assertThatThrownBy(() -> w.alignment(48)).hasMessageContaining("power of two");
    }

    @Test
    void aFailingSourceLeavesNoFile() {
        Path file = dir.resolve("failed.gguf");
        GGUFWriter w = new GGUFWriter().addTensor("w", GGMLType.F32, new long[] {4}, (first, dst, count) -> {
            throw new IllegalStateException("generator broke");
        });
        assertThatThrownBy(() -> w.write(file)).hasMessageContaining("generator broke");
        assertThat(file).doesNotExist();
    }

    @Test
    void metadataBuiltInMemoryInfersTypes() {
        GGUFMetadata m = new GGUFMetadata(Map.of("a", 1, "b", 2L, "c", List.of("x"), "d", new float[0]));
        assertThat(m.type("a")).isEqualTo(GGUFValueType.INT32);
        assertThat(m.type("b")).isEqualTo(GGUFValueType.INT64);
        assertThat(m.type("c")).isEqualTo(GGUFValueType.ARRAY);
        assertThat(m.arrayElementType("c")).isEqualTo(GGUFValueType.STRING);
        assertThat(m.arrayElementType("d")).isEqualTo(GGUFValueType.FLOAT32);
        assertThat(m.type("missing")).isNull();
    }
}
