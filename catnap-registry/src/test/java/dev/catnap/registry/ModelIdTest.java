package dev.catnap.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelIdTest {
    @Test
    void bareNameMeansTabbyML() {
        assertThat(ModelId.parse("StarCoder-1B")).isEqualTo(new ModelId("TabbyML", "StarCoder-1B"));
        assertThat(ModelId.parse("Qwen/Qwen2.5-Coder-1.5B-Instruct").toString())
                .isEqualTo("Qwen/Qwen2.5-Coder-1.5B-Instruct");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                " ",
                "..",
                "../etc",
                "TabbyML/..",
                "../../x",
                "/etc/passwd",
                "/abs/Name",
                "a/b/c",
                "Org/",
                "/Name",
                ".hidden",
                "Org/.x",
                "C:/x",
                "a\\b",
                "Org/Na me",
                "Org/Na\u0000me",
                "~/models"
            })
    void rejectsIdsThatCouldEscapeTheModelsDir(String id) {
        assertThatThrownBy(() -> ModelId.parse(id))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("model id");
    }

    @Test
    void constructorValidatesToo() {
        assertThatThrownBy(() -> new ModelId("..", "x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ModelId("Org", "a/b")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void modelsDirFollowsTabby() {
        assertThat(ModelsDir.resolve(Map.of("TABBY_MODEL_CACHE_ROOT", "/c", "TABBY_ROOT", "/r")))
                .isEqualTo(Path.of("/c"));
        assertThat(ModelsDir.resolve(Map.of("TABBY_ROOT", "/data"))).isEqualTo(Path.of("/data/models"));
        assertThat(ModelsDir.resolve(Map.of("TABBY_ROOT", " ")))
                .isEqualTo(Path.of(System.getProperty("user.home"), ".tabby", "models"));
        assertThat(ModelsDir.resolve(Map.of())).isEqualTo(Path.of(System.getProperty("user.home"), ".tabby", "models"));
    }
}
