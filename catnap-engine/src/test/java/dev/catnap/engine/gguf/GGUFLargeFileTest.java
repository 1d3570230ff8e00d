package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file over 4 GiB, made sparse so the test writes a few kilobytes: a 3 GiB F32 tensor followed by one that starts
 * past the 2 GiB and 4 GiB marks, read through the long-indexed mapping.
 */
class GGUFLargeFileTest {
    private static final long BIG_ELEMENTS = 3L << 28; // 3 GiB of F32
    private static final long GAP = 2L << 30;

    @TempDir
    Path dir;

    @Test
    void tensorsPastFourGigabytesAreRead() throws IOException {
        Path file = dir.resolve("large.gguf");
        new GGUFWriter()
                .addTensor("small", GGMLType.F32, new long[] {8}, new float[] {1, 2, 3, 4, 5, 6, 7, 8})
                .addTensor("big", GGMLType.F32, new long[] {8, 1}, new float[8])
                .addTensor("tail", GGMLType.F32, new long[] {8}, new float[8])
                .write(file);
        long dataOffset;
        long bigOffset;
        try (GGUFFile f = GGUFFile.open(file)) {
            dataOffset = f.dataOffset();
            bigOffset = f.fileOffset("big") - dataOffset;
        }
        long tailOffset = bigOffset + BIG_ELEMENTS * 4 + GAP; // a gap of 2 GiB too, so the tail starts past 5 GiB
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate((int) dataOffset).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(header, 0);
            int big = find(header, "big");
            header.putLong(big + 4 + 8, BIG_ELEMENTS / 8); // dims [8, 3<<25]: the second dimension grows
            int tail = find(header, "tail");
            header.putLong(tail + 4 + 8 + 4, tailOffset);
            ch.write(header.flip(), 0);
            ByteBuffer values = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 8; i++) values.putFloat(100 + i);
            ch.write(values.flip(), dataOffset + bigOffset + BIG_ELEMENTS * 4 - 32);
            values.clear();
            for (int i = 0; i < 8; i++) values.putFloat(-i);
            ch.write(values.flip(), dataOffset + tailOffset);
        }
        assertThat(Files.size(file)).isGreaterThan(5L << 30);
        try (GGUFFile f = GGUFFile.open(file)) {
            GGUFTensor big = f.tensor("big");
            assertThat(big.elementCount()).isEqualTo(BIG_ELEMENTS);
            assertThat(big.data().byteSize()).isEqualTo(BIG_ELEMENTS * 4);
            float[] last = new float[8];
            Dequantize.dequantize(GGMLType.F32, big.data(), BIG_ELEMENTS - 8, last, 0, 8);
            assertThat(last).containsExactly(100, 101, 102, 103, 104, 105, 106, 107);
            assertThat(f.fileOffset("tail")).isGreaterThan(5L << 30);
            assertThat(Dequantize.dequantize(f.tensor("tail"))).containsExactly(0, -1, -2, -3, -4, -5, -6, -7);
            assertThat(Dequantize.dequantize(f.tensor("small"))).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
        }
    }

    /** The position just after the name string of the tensor info for {@code name}. */
    private static int find(ByteBuffer header, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] h = header.array();
        outer:
        for (int i = 0; i + 8 + n.length <= h.length; i++) {
            if (header.getLong(i) != n.length) continue;
            for (int j = 0; j < n.length; j++) if (h[i + 8 + j] != n[j]) continue outer;
            int after = i + 8 + n.length;
            if (header.getInt(after) >= 1 && header.getInt(after) <= 4) return after;
        }
        throw new AssertionError("no tensor info for " + name);
    }
}
