package dev.catnap.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCacheTest {
    @TempDir
    Path models;

    private Path model(String org, String name, String tabbyJson, String... parts) throws IOException {
        Path dir = models.resolve(org).resolve(name);
        Files.createDirectories(dir.resolve("ggml"));
        Files.writeString(dir.resolve("tabby.json"), tabbyJson);
        for (String p : parts) Files.writeString(dir.resolve("ggml").resolve(p), "GGUF" + p);
        return dir;
    }

    @Test
    void findsSinglePartModelWithTemplates() throws IOException {
        Path dir = model(
                "TabbyML",
                "StarCoder-1B",
                "{\"name\":\"StarCoder-1B\",\"prompt_template\":\"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>\",\"urls\":[\"http://x/a\"],\"sha256\":\"ab\"}",
                "model-00001-of-00001.gguf");
        LocalModel m =
                new ModelCache(models).find(ModelId.parse("StarCoder-1B")).orElseThrow();
        assertThat(m.id()).isEqualTo(new ModelId("TabbyML", "StarCoder-1B"));
        assertThat(m.entryFile()).isEqualTo(dir.resolve("ggml/model-00001-of-00001.gguf"));
        assertThat(m.promptTemplate()).contains("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");
        assertThat(m.chatTemplate()).isEmpty();
    }

    @Test
    void multiPartModelListsPartsInOrderAndNeedsAllOfThem() throws IOException {
        String json =
                "{\"name\":\"Big\",\"chat_template\":\"{{x}}\",\"partition_urls\":[{\"urls\":[\"u1\"],\"sha256\":\"a\"},{\"urls\":[\"u2\"],\"sha256\":\"b\"},{\"urls\":[\"u3\"],\"sha256\":\"c\"}]}";
        Path dir = model("Org", "Big", json, "model-00003-of-00003.gguf", "model-00001-of-00003.gguf");
        var cache = new ModelCache(models);
        assertThat(cache.find(new ModelId("Org", "Big"))).isEmpty();
        assertThat(cache.inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.INCOMPLETE);
        Files.writeString(dir.resolve("ggml/model-00002-of-00003.gguf"), "GGUF2");
        Files.writeString(dir.resolve("ggml/model-00002-of-00003.gguf.part"), "partial, ignored");
        LocalModel m = cache.find(new ModelId("Org", "Big")).orElseThrow();
        assertThat(m.ggufParts())
                .extracting(p -> p.getFileName().toString())
                .containsExactly("model-00001-of-00003.gguf", "model-00002-of-00003.gguf", "model-00003-of-00003.gguf");
        assertThat(m.entryFile().getFileName().toString()).isEqualTo("model-00001-of-00003.gguf");
        assertThat(m.chatTemplate()).contains("{{x}}");
        assertThat(cache.list()).containsExactly(m);
        assertThat(cache.inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.UNVERIFIED);
    }

    @Test
    void absentModelIsEmptyAndBrokenTabbyJsonIsAClearError() throws IOException {
        var cache = new ModelCache(models);
        assertThat(cache.find(ModelId.parse("Nope"))).isEqualTo(Optional.empty());
        model("TabbyML", "Broken", "{not json", "model-00001-of-00001.gguf");
        assertThatThrownBy(() -> cache.find(ModelId.parse("Broken")))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("tabby.json");
        assertThat(cache.inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.BROKEN);
        assertThat(cache.list()).isEmpty();
    }

    @Test
    void fromDirectoryReadsATabbyLayoutDirAnywhere() throws IOException {
        Path dir = model("Qwen", "Qwen2-0.5B", "{\"name\":\"Qwen2-0.5B\",\"chat_template\":\"t\"}", "model.gguf");
        LocalModel m = ModelCache.fromDirectory(dir);
        assertThat(m.id()).isEqualTo(new ModelId("Qwen", "Qwen2-0.5B"));
        assertThat(m.entryFile()).isEqualTo(dir.resolve("ggml/model.gguf"));
        assertThatThrownBy(() -> ModelCache.fromDirectory(models.resolve("Qwen")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no tabby.json");
        assertThatThrownBy(() -> ModelCache.fromDirectory(models.resolve("missing")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not a directory");
    }

    @Test
    void wrongRoleIsAClearError() {
        var id = ModelId.parse("Nomic-Embed-Text");
        assertThatThrownBy(() -> ModelKind.COMPLETION.requireSupported(id, Optional.empty(), Optional.empty()))
                .hasMessage("model TabbyML/Nomic-Embed-Text cannot be used for completion: it has no prompt_template");
        assertThatThrownBy(() -> ModelKind.CHAT.requireSupported(
                        ModelId.parse("StarCoder-1B"), Optional.of("p"), Optional.empty()))
                .hasMessageContaining("cannot be used for chat: it has no chat_template (it is a completion model)");
        ModelKind.EMBEDDING.requireSupported(id, Optional.empty(), Optional.empty());
    }
}
