package dev.catnap.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryTest {
    @Test
    void urlsAreCanonicalAndNamedAsTabbyNamesThem() {
        assertThat(Repository.canonical("https://user:secret@github.com/acme/demo.git/"))
                .isEqualTo("https://github.com/acme/demo");
        assertThat(Repository.nameOf("git@github.com:acme/demo.git")).isEqualTo("demo");
        assertThat(Repository.nameOf("https://github.com/acme/demo")).isEqualTo("demo");
        assertThat(new Repository(null, "https://github.com/acme/demo.git").name())
                .isEqualTo("demo");
        assertThat(Repository.of("git@github.com:acme/demo.git").localPath()).isEmpty();
    }

    @Test
    void pathsBecomeAbsoluteFileSources(@TempDir Path dir) {
        Repository r = Repository.of(dir.toString());
        assertThat(r.localPath()).contains(dir);
        assertThat(r.source()).isEqualTo(Repository.canonical(dir.toUri().toString()));
        assertThat(new Repository("x", dir.toUri().toString()).localPath()).contains(dir);
        assertThat(new Repository("x", dir.toUri().toString()).source()).isEqualTo(r.source());
    }

    @Test
    void tabbyConfigRepositoriesAreRead(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.toml");
        Files.writeString(file, """
                [model.completion.local]
                model_id = "StarCoder-1B"

                [[repositories]]
                name = "demo"
                git_url = "https://github.com/acme/demo.git"

                [[repositories]]
                git_url = "file:///srv/code/tools"

                [[repositories]]
                git_url = "checkouts/lib"
                """);
        List<Repository> repos = TabbyConfig.repositories(file);
        assertThat(repos).extracting(Repository::name).containsExactly("demo", "tools", "lib");
        assertThat(repos.get(2).localPath()).contains(dir.resolve("checkouts/lib"));
        assertThat(TabbyConfig.repositories(dir.resolve("absent.toml"))).isEmpty();
    }

    @Test
    void badConfigsAreOneReadableLine(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("config.toml");
        Files.writeString(file, "[[repositories]]\nname = \"x\"\n");
        assertThatThrownBy(() -> TabbyConfig.repositories(file))
                .hasMessageContaining("repositories[0] needs a git_url");
        Files.writeString(file, "[[repositories]\ngit_url = ");
        assertThatThrownBy(() -> TabbyConfig.repositories(file))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("cannot read " + file)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void languagesByExtensionAndEditorId() {
        assertThat(CodeLanguage.ofPath("src/a/B.java")).contains("java");
        assertThat(CodeLanguage.ofPath("web/app.tsx")).contains("javascript-typescript");
        assertThat(CodeLanguage.ofPath("Makefile")).isEmpty();
        assertThat(CodeLanguage.ofPath(".bashrc")).isEmpty();
        assertThat(CodeLanguage.ofEditorId("typescriptreact")).contains("javascript-typescript");
        assertThat(CodeLanguage.ofEditorId("python")).contains("python");
        assertThat(CodeLanguage.ofEditorId("plaintext")).isEmpty();
    }
}
