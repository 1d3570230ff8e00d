package dev.catnap.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GGUFSplitTest {
    @TempDir
    Path dir;

    private GGUFWriter model(int tensors) {
        GGUFWriter w = new GGUFWriter()
                .putString("general.architecture", "starcoder")
                .putUInt32("starcoder.context_length", 2048);
        for (int i = 0; i < tensors; i++) {
            float[] v = new float[32];
            for (int j = 0; j < v.length; j++) v[j] = i * 100 + j;
            w.addTensor("blk." + i + ".w", i % 2 == 0 ? GGMLType.F32 : GGMLType.Q8_0, new long[] {32}, v);
        }
        return w;
    }

    @Test
    void anyPartOpensTheWholeModel() throws IOException {
        List<Path> parts = model(5).writeSplit(dir, "model", 2);
        assertThat(parts)
                .extracting(p -> p.getFileName().toString())
                .containsExactly("model-00001-of-00003.gguf", "model-00002-of-00003.gguf", "model-00003-of-00003.gguf");
        for (Path entry : List.of(parts.get(0), parts.get(2))) {
            try (GGUFFile f = GGUFFile.open(entry)) {
                assertThat(f.parts()).isEqualTo(parts);
                assertThat(f.path()).isEqualTo(parts.getFirst());
                assertThat(f.metadata().architecture()).isEqualTo("starcoder");
                assertThat(f.metadata().getInt("starcoder.context_length")).isEqualTo(2048);
                assertThat(f.metadata().getInt("split.count")).isEqualTo(3);
                assertThat(f.metadata().type("split.count")).isEqualTo(GGUFValueType.UINT16);
                assertThat(f.metadata().type("split.tensors.count")).isEqualTo(GGUFValueType.INT32);
                assertThat(f.tensors().keySet()).containsExactly("blk.0.w", "blk.1.w", "blk.2.w", "blk.3.w", "blk.4.w");
                assertThat(Dequantize.dequantize(f.tensor("blk.4.w"))[7]).isEqualTo(407f);
                assertThat(Dequantize.dequantize(f.tensor("blk.2.w"))[31]).isEqualTo(231f);
            }
        }
        try (GGUFFile second = GGUFFile.open(parts.get(1))) {
            assertThat(second.parts()).hasSize(3);
        }
    }

    @Test
    void aSplitOfOnePartIsAPlainFile() throws IOException {
        List<Path> parts = model(1).writeSplit(dir, "one", 8);
        assertThat(parts).extracting(p -> p.getFileName().toString()).containsExactly("one-00001-of-00001.gguf");
        try (GGUFFile f = GGUFFile.open(parts.getFirst())) {
            assertThat(f.parts()).isEqualTo(parts);
            assertThat(f.tensors()).hasSize(1);
        }
    }

    @Test
    void plainFilesAreOnePart() throws IOException {
        Path file = dir.resolve("plain.gguf");
        model(2).write(file);
        try (GGUFFile f = GGUFFile.open(file)) {
            assertThat(f.parts()).containsExactly(file);
            assertThat(f.tensors()).hasSize(2);
        }
    }

    @Test
    void aMissingPartIsNamed() throws IOException {
        List<Path> parts = model(4).writeSplit(dir, "m", 1);
        Files.delete(parts.get(2));
        assertThatThrownBy(() -> GGUFFile.open(parts.getFirst()))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("part 3 of this split model is missing")
                .hasMessageContaining("m-00003-of-00004.gguf");
    }

    @Test
    void aRenamedPartIsRejected() throws IOException {
        List<Path> parts = model(2).writeSplit(dir, "m", 1);
        Path renamed = dir.resolve("renamed.gguf");
        Files.move(parts.getFirst(), renamed);
        assertThatThrownBy(() -> GGUFFile.open(renamed))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("renamed.gguf")
                .hasMessageContaining("is part 1 of a split model of 2");
    }

    @Test
    void partsFromDifferentSplitsAreRejected() throws IOException {
        List<Path> two = model(2).writeSplit(dir, "m", 1);
        Path other = Files.createDirectory(dir.resolve("other"));
        List<Path> three = model(3).writeSplit(other, "m", 1);
        // part 2 of a three-part split placed where part 2 of the two-part split belongs
        Files.copy(three.get(1), two.get(1), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> GGUFFile.open(two.getFirst()))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("m-00002-of-00002.gguf")
                .hasMessageContaining("expected part 2 of 2");
    }

    @Test
    void aWrongTensorTotalIsRejected() throws IOException {
        GGUFWriter w = model(2);
        List<Path> parts = w.writeSplit(dir, "m", 1);
        // rewrite part 2 without its tensor: the total no longer matches split.tensors.count
        try (GGUFFile f = GGUFFile.open(parts.getFirst())) {
            assertThat(f.tensors()).hasSize(2);
        }
        new GGUFWriter()
                .put("split.no", GGUFValueType.UINT16, 1)
                .put("split.count", GGUFValueType.UINT16, 2)
                .putInt32("split.tensors.count", 2)
                .write(parts.get(1));
        assertThatThrownBy(() -> GGUFFile.open(parts.getFirst()))
                .isInstanceOf(GGUFFormatException.class)
                .hasMessageContaining("split.tensors.count is 2 but the 2 parts hold 1 tensors");
    }
}
