package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Corrupts and truncates valid generated GGUF files: opening one must either succeed, with every tensor inside the file
 * and decodable, or fail with a {@link GGUFFormatException}; never another exception, an OutOfMemoryError or a hang.
 */
class GGUFCorruptionPropertyTest {
    private static final long[] INTERESTING = {
        0,
        1,
        -1,
        2,
        7,
        31,
        32,
        33,
        255,
        256,
        65535,
        Integer.MAX_VALUE,
        0x80000000L,
        0xffffffffL,
        1L << 32,
        1L << 40,
        Long.MAX_VALUE,
        Long.MIN_VALUE,
        12,
        13,
        30,
        40
    };

    @Property(tries = 300, seed = "20261127")
    void corruptedFilesFailCleanly(
            @ForAll long fileSeed, @ForAll long corruptionSeed, @ForAll @IntRange(min = 1, max = 4) int corruptions)
            throws IOException {
        Path file = Files.createTempFile("gguf-corrupt", ".gguf");
        try {
            byte[] bytes =
                    corrupt(randomValidFile(new Random(fileSeed), file), new Random(corruptionSeed), corruptions);
            Files.write(file, bytes);
            try (GGUFFile f = GGUFFile.open(file)) {
                for (GGUFTensor t : f.tensors().values()) {
                    assertThat(t.data().byteSize()).isEqualTo(t.type().bytesFor(t.elementCount()));
                    if (Dequantize.supports(t.type()) && t.elementCount() <= 1 << 20) Dequantize.dequantize(t);
                }
                f.metadata().keys().forEach(f.metadata()::type);
                Statistics.label("outcome").collect("opened");
            } catch (GGUFFormatException expected) {
                assertThat(expected.getMessage()).startsWith(file.toString());
                Statistics.label("outcome").collect("rejected");
            }
        } finally {
            Files.deleteIfExists(file);
        }
        // both outcomes must be common, or the corruptions are not exercising the parser
        Statistics.label("outcome").coverage(c -> {
            c.check("opened").percentage(p -> p > 5);
            c.check("rejected").percentage(p -> p > 50);
        });
    }

    private static byte[] corrupt(byte[] valid, Random rnd, int corruptions) {
        ByteBuffer b = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN);
        int length = valid.length;
        for (int i = 0; i < corruptions; i++) {
            int at = rnd.nextInt(length);
            switch (rnd.nextInt(5)) {
                case 0 -> length = rnd.nextInt(length + 1);
                case 1 -> valid[at] ^= (byte) (1 << rnd.nextInt(8));
                case 2 -> valid[at] = (byte) rnd.nextInt();
                case 3 -> {
                    if (at + 8 <= length) b.putLong(at, INTERESTING[rnd.nextInt(INTERESTING.length)]);
                }
                default -> {
                    if (at + 4 <= length) b.putInt(at, (int) INTERESTING[rnd.nextInt(INTERESTING.length)]);
                }
            }
            if (length == 0) break;
        }
        return java.util.Arrays.copyOf(valid, length);
    }

    /** A small file with random metadata of every kind and a few tensors. */
    static byte[] randomValidFile(Random rnd, Path file) throws IOException {
        GGUFWriter w = new GGUFWriter();
        if (rnd.nextInt(3) == 0) w.alignment(1 << rnd.nextInt(8));
        int keys = rnd.nextInt(6);
        for (int k = 0; k < keys; k++) {
            GGUFValueType type = GGUFValueType.values()[rnd.nextInt(GGUFValueType.values().length)];
            String key = "k" + k;
            switch (type) {
                case UINT8 -> w.put(key, type, rnd.nextInt(256));
                case INT8 -> w.put(key, type, (byte) rnd.nextInt());
                case UINT16 -> w.put(key, type, rnd.nextInt(65536));
                case INT16 -> w.put(key, type, (short) rnd.nextInt());
                case UINT32 -> w.putUInt32(key, rnd.nextInt() & 0xffffffffL);
                case INT32 -> w.putInt32(key, rnd.nextInt());
                case UINT64, INT64 -> w.put(key, type, rnd.nextLong());
                case FLOAT32 -> w.putFloat32(key, rnd.nextFloat());
                case FLOAT64 -> w.put(key, type, rnd.nextDouble());
                case BOOL -> w.putBool(key, rnd.nextBoolean());
                case STRING -> w.putString(key, "v".repeat(rnd.nextInt(20)));
                case ARRAY -> w.putArray(key, randomArray(rnd, 0));
            }
        }
        int tensors = rnd.nextInt(4);
        GGMLType[] types = {GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_1, GGMLType.Q5_0};
        for (int t = 0; t < tensors; t++) {
            GGMLType type = types[rnd.nextInt(types.length)];
            long[] shape =
                    rnd.nextBoolean() ? new long[] {32L * (1 + rnd.nextInt(3))} : new long[] {32, 1 + rnd.nextInt(3)};
            float[] values = new float[(int) (shape.length == 1 ? shape[0] : shape[0] * shape[1])];
            for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian();
            w.addTensor("t" + t, type, shape, values);
        }
        w.write(file);
        return Files.readAllBytes(file);
    }

    private static GGUFArray randomArray(Random rnd, int depth) {
        int n = rnd.nextInt(4);
        return switch (depth < 2 ? rnd.nextInt(5) : rnd.nextInt(4)) {
            case 0 -> new GGUFArray(GGUFValueType.UINT32, rnd.ints(n, 0, 1000).toArray());
            case 1 -> GGUFArray.of(new float[n]);
            case 2 -> {
                List<String> s = new ArrayList<>();
                for (int i = 0; i < n; i++) s.add("s" + i);
                yield new GGUFArray(GGUFValueType.STRING, s);
            }
            case 3 -> GGUFArray.of(new boolean[n]);
            default -> {
                List<GGUFArray> inner = new ArrayList<>();
                for (int i = 0; i < n; i++) inner.add(randomArray(rnd, depth + 1));
                yield new GGUFArray(GGUFValueType.ARRAY, inner);
            }
        };
    }
}
