package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLocationTest {
    @TempDir
    Path models;

    Path install(String org, String name, String tabbyJson) throws Exception {
        Path dir = Files.createDirectories(models.resolve(org).resolve(name));
        Files.writeString(dir.resolve("tabby.json"), tabbyJson);
        Path ggml = Files.createDirectories(dir.resolve("ggml"));
        Files.write(ggml.resolve("model-00001-of-00001.gguf"), new byte[] {'G', 'G', 'U', 'F'});
        return dir;
    }

    @Test
    void idsResolveInTabbysCacheLayoutWithTheirTemplates() throws Exception {
        install(
                "TabbyML",
                "StarCoder-1B",
                "{\"name\":\"StarCoder-1B\",\"prompt_template\":\"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>\"}");
        for (String spec : new String[] {"TabbyML/StarCoder-1B", "StarCoder-1B"}) {
            var at = ModelLocation.resolve(spec, models);
            assertThat(at.id()).isEqualTo("TabbyML/StarCoder-1B");
            assertThat(at.gguf()).endsWith(Path.of("ggml", "model-00001-of-00001.gguf"));
            assertThat(at.promptTemplate()).contains("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");
        }
    }

    @Test
    void aDirectoryInTabbyLayoutAndASingleGgufFileWork() throws Exception {
        Path dir = install("Qwen", "Chat-1", "{\"name\":\"Chat-1\",\"chat_template\":\"{{'<|im_start|>'}}\"}");
        var at = ModelLocation.resolve(dir.toString(), Path.of("/nonexistent"));
        assertThat(at.id()).isEqualTo("Qwen/Chat-1");
        assertThat(at.chatTemplate()).isPresent();
        Path file = Files.write(models.resolve("tiny.gguf"), new byte[] {1});
        var single = ModelLocation.resolve(file.toString(), models);
        assertThat(single.id()).isEqualTo("tiny");
        assertThat(single.promptTemplate()).isEmpty();
    }

    @Test
    void aMissingModelNamesWhereItLookedAndTheDownloadCommand() {
        assertThatThrownBy(() -> ModelLocation.resolve("TabbyML/StarCoder-1B", models))
                .hasMessageContaining(
                        models.resolve("TabbyML").resolve("StarCoder-1B").toString())
                .hasMessageContaining("catnap download --model TabbyML/StarCoder-1B");
        assertThatThrownBy(() -> ModelLocation.resolve("./nope.gguf", models))
                .hasMessageContaining("no such model file");
        assertThatThrownBy(() -> ModelLocation.resolve("a/b/c", models)).hasMessageContaining("no such model file");
    }
}
