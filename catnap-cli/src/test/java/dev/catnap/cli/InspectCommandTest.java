package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    static final Path FIXTURES = CliRun.FIXTURES;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void describesTheTrainedStarCoderModel() {
        CliRun r = run(
                "inspect",
                FIXTURES.resolve("models/tiny-starcoder-17m-q8_0.gguf").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        List<String> lines = r.out().lines().toList();
        assertThat(lines)
                .contains(
                        "architecture:   starcoder",
                        "context length: 2,048",
                        "embedding:      256",
                        "layers:         6",
                        "heads:          4 (1 KV)",
                        "parameters:     17,254,144 (17.3M)",
                        "file type:      MOSTLY_Q8_0 (7)",
                        "tokenizer:      gpt2 (pre: starcoder), 49,152 tokens");
        // 25 Q8_0 matrices, F16 position embeddings, F32 norms and biases (fixtures README)
        assertThat(lines).anyMatch(l -> l.matches("quantization: +Q8_0 +25 tensors .*"));
        assertThat(lines).anyMatch(l -> l.matches(" +F16 +1 tensor +1\\.0 MiB"));
        assertThat(lines).anyMatch(l -> l.matches(" +F32 +\\d+ tensors .*"));
        assertThat(lines).anyMatch(l -> l.matches("position_embd\\.weight +F16 +\\[256, 2048] +1,048,576"));
        assertThat(lines).anyMatch(l -> l.matches("token_embd\\.weight +Q8_0 +\\[256, 49152] +13,369,344"));
    }

    @Test
    void opensEveryPartOfASplitModel(@TempDir Path dir) throws IOException {
        List<Path> parts = new GGUFWriter()
                .putString("general.architecture", "qwen2")
                .putUInt32("qwen2.context_length", 32768)
                .addTensor("a", GGMLType.Q8_0, new long[] {64, 2}, new float[128])
                .addTensor("b", GGMLType.F32, new long[] {64}, new float[64])
                .writeSplit(dir, "m", 1);
        CliRun r = run("inspect", "--no-tensors", parts.get(1).toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("2 parts", "context length: 32,768", "parameters:     192 (192)", "tokenizer:      none");
        assertThat(r.out()).doesNotContain("TENSOR");
    }

    @Test
    void badFilesGetOneReadableLine(@TempDir Path dir) throws IOException {
        CliRun missing = run("inspect", dir.resolve("nope.gguf").toString());
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap inspect: file not found: ");

        Path junk = Files.writeString(dir.resolve("junk.gguf"), "not a model at all");
        CliRun bad = run("inspect", junk.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap inspect: " + junk + ": not a GGUF file: bad magic");
        assertThat(bad.out()).isEmpty();

        CliRun dirArg = run("inspect", dir.toString());
        assertThat(dirArg.exit()).isEqualTo(2);
        assertThat(dirArg.err()).contains("not a regular file");
    }
}
