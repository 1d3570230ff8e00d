package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GGUFMalformedFileTest {
    @TempDir
    Path dir;

    private byte[] valid;

    @BeforeEach
    void writeValidFile() throws IOException {
        Path file = dir.resolve("valid.gguf");
        new GGUFWriter()
                .putString("general.architecture", "llama")
                .putBool("flag", true)
                .putArray("list", new GGUFArray(GGUFValueType.ARRAY, List.of(List.of("a"))))
                .addTensor("first", GGMLType.Q8_0, new long[] {32, 2}, new float[64])
                .addTensor("later", GGMLType.F32, new long[] {4}, new float[] {1, 2, 3, 4})
                .write(file);
        valid = Files.readAllBytes(file);
    }

    /** Writes {@code valid} changed by {@code change} and asserts that opening it fails naming the file. */
    private AbstractThrowableAssert<?, ? extends Throwable> opening(Consumer<ByteBuffer> change) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(valid.clone()).order(ByteOrder.LITTLE_ENDIAN);
        change.accept(b);
        Path file = dir.resolve("bad.gguf");
        Files.write(file, Arrays.copyOf(b.array(), b.limit()));
        return assertThatThrownBy(() -> GGUFFile.open(file).close())
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageStartingWith(file + ": ");
    }

    /** Offset just past the length-prefixed string {@code s} in the header. */
    private int after(String s) {
        byte[] n = s.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN);
        outer:
        for (int i = 0; i + 8 + n.length <= valid.length; i++) {
            if (b.getLong(i) != n.length) continue;
            for (int j = 0; j < n.length; j++) if (valid[i + 8 + j] != n[j]) continue outer;
            return i + 8 + n.length;
        }
        throw new AssertionError(s);
    }

    @Test
    void badHeaders() throws IOException {
        opening(b -> b.limit(0)).hasMessageContaining("only 0 bytes");
        opening(b -> b.put(0, (byte) 'X')).hasMessageContaining("bad magic");
        opening(b -> b.putInt(4, 1)).hasMessageContaining("unsupported GGUF version 1");
        opening(b -> b.putInt(4, Integer.reverseBytes(3))).hasMessageContaining("big-endian");
        opening(b -> b.putLong(8, Long.MAX_VALUE)).hasMessageContaining("absurd tensor count");
        opening(b -> b.putLong(8, -1)).hasMessageContaining("absurd tensor count 18446744073709551615");
        opening(b -> b.putLong(16, 1L << 40)).hasMessageContaining("absurd metadata count");
    }

    @Test
    void badMetadata() throws IOException {
        int arch = after("general.architecture");
        opening(b -> b.putInt(arch, 13)).hasMessageContaining("general.architecture has unknown value type 13");
        opening(b -> b.putLong(arch + 4, 1L << 50)).hasMessageContaining("absurd general.architecture length");
        opening(b -> b.put(after("flag") + 4, (byte) 2)).hasMessageContaining("bool value 2");
        int list = after("list") + 4; // element type ARRAY, count 1, then the inner array
        opening(b -> b.putInt(list, 99)).hasMessageContaining("array of unknown type 99");
        opening(b -> b.putLong(list + 4, 1L << 40)).hasMessageContaining("absurd array length of list");
        opening(b -> b.putLong(after("list") + 4 + 4 + 8 + 4, 1L << 40))
                .hasMessageContaining("absurd array length of list[0]");
        // rename "flag" to "list": duplicate key
        opening(b -> b.put(after("flag") - 4, "list".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("duplicate metadata key list");
    }

    @Test
    void badTensorInfos() throws IOException {
        int first = after("first"); // n_dims u32, ne i64 x2, type i32, offset u64
        int later = after("later"); // n_dims u32, ne i64, type i32, offset u64
        opening(b -> b.putInt(first, 0)).hasMessageContaining("tensor first has 0 dimensions");
        opening(b -> b.putInt(first, 5)).hasMessageContaining("tensor first has 5 dimensions");
        opening(b -> b.putLong(first + 4, 0)).hasMessageContaining("absurd dimension 0");
        opening(b -> b.putLong(first + 4 + 8, Long.MAX_VALUE)).hasMessageContaining("absurd dimension");
        opening(b -> b.putLong(first + 4 + 8, 1L << 39)).hasMessageContaining("first has absurd element count");
        opening(b -> b.putLong(first + 4 + 8, 1L << 30)).hasMessageContaining("truncated: tensor first needs bytes");
        opening(b -> b.putInt(first + 4 + 16, 4)).hasMessageContaining("tensor first has unknown type 4");
        opening(b -> b.putInt(first + 4 + 16, 1000)).hasMessageContaining("unknown type 1000");
        opening(b -> b.putLong(first + 4, 16))
                .hasMessageContaining("row of 16 is not a multiple of the Q8_0 block size 32");
        opening(b -> b.putLong(later + 4 + 8 + 4, 3)).hasMessageContaining("misaligned or negative offset 3");
        opening(b -> b.putLong(later + 4 + 8 + 4, -32)).hasMessageContaining("misaligned or negative offset");
        opening(b -> b.putLong(later + 4 + 8 + 4, 1L << 40)).hasMessageContaining("truncated: tensor later");
        opening(b -> b.putLong(later + 4 + 8 + 4, 0)).hasMessageContaining("tensors first and later overlap");
        opening(b -> b.put(later - 5, "first".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("duplicate tensor name first");
    }

    @Test
    void everyTruncationBeforeTheLastTensorsEndFails() throws IOException {
        Path file = dir.resolve("cut.gguf");
        Files.write(file, valid);
        long dataEnd;
        try (GGUFFile f = GGUFFile.open(file)) {
            dataEnd = f.fileOffset("later") + 16;
        }
        for (int len = 0; len < valid.length; len++) {
            Files.write(file, Arrays.copyOf(valid, len));
            if (len < dataEnd) {
                assertThatThrownBy(() -> GGUFFile.open(file).close())
                        .as("cut at %d", len)
                        .isInstanceOf(GGUFFormatException.class);
            } else {
                // only the padding after the last tensor is missing: llama.cpp loads such files too
                try (GGUFFile f = GGUFFile.open(file)) {
                    assertThat(f.tensors()).hasSize(2);
                }
            }
        }
    }

    @Test
    void notAFile() throws IOException {
        assertThatThrownBy(() -> GGUFFile.open(dir))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> GGUFFile.open(dir.resolve("missing.gguf"))).isInstanceOf(NoSuchFileException.class);
        Path text = Files.writeString(dir.resolve("model.gguf"), "<html>not found</html>");
        assertThatThrownBy(() -> GGUFFile.open(text))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("bad magic");
    }

    @Test
    void vocabularyOnlyFilesOpen() throws IOException {
        Path vocab = Fixtures.root().resolve("vocab/ggml-vocab-starcoder.gguf");
        try (GGUFFile f = GGUFFile.open(vocab)) {
            assertThat(f.tensors()).isEmpty();
            assertThat(f.metadata().getStringArray("tokenizer.ggml.tokens")).hasSize(49152);
        }
    }
}
