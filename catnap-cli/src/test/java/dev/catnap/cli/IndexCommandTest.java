package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(120)
class IndexCommandTest {
    @TempDir
    Path tmp;

    Path repo(String name) throws Exception {
        Path dir = tmp.resolve(name);
        try (Git git =
                Git.init().setDirectory(dir.toFile()).setInitialBranch("main").call()) {
            Files.createDirectories(dir.resolve("src"));
            Files.writeString(
                    dir.resolve("src/slugs.py"),
                    "import re\n\n\ndef slugify_title(title):\n    return re.sub(r\"[^a-z0-9]+\", \"-\", title.lower()).strip(\"-\")\n");
            Files.writeString(
                    dir.resolve("src/Pages.java"),
                    "class Pages {\n    String url(String title) {\n        return \"/p/\" + title;\n    }\n}\n");
            git.add().addFilepattern(".").call();
            git.commit()
                    .setMessage("init")
                    .setAuthor("t", "t@catnap.local")
                    .setCommitter("t", "t@catnap.local")
                    .setSign(false)
                    .call();
        }
        return dir;
    }

    @Test
    void indexesThenRefreshesOnlyChangesAndReportsThroughput() throws Exception {
        Path repo = repo("blog");
        Path index = tmp.resolve("index");
        var first = CliRun.of(
                "index", "--repository", repo.toString(), "--index-dir", index.toString(), "--progress", "log");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out())
                .contains("blog: 2 files (2 read, 0 unchanged, 0 removed, 0 skipped)")
                .contains("files/s")
                .contains("MiB on disk");
        var again = CliRun.of(
                "index", "--repository", repo.toString(), "--index-dir", index.toString(), "--progress", "log");
        assertThat(again.out()).contains("blog: 2 files (0 read, 2 unchanged");
    }

    @Test
    void tabbyConfigAndABareRepositoryThatIsClonedAndWithEmbeddings() throws Exception {
        Path repo = repo("work");
        Path bare = tmp.resolve("mirror.git");
        Git.cloneRepository()
                .setURI(repo.toString())
                .setDirectory(bare.toFile())
                .setBare(true)
                .call()
                .close();
        Path config = Files.writeString(
                tmp.resolve("config.toml"),
                "[[repositories]]\nname = \"mirror\"\ngit_url = \"" + bare.toUri() + "\"\n");
        var r = CliRun.of(
                "index",
                "--config",
                config.toString(),
                "--index-dir",
                tmp.resolve("index").toString(),
                "--progress",
                "log",
                "--embedding-model",
                CliRun.FIXTURES.resolve("models/synth-nomic-bert-tiny-f32.gguf").toString(),
                "--threads",
                "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("mirror: 2 files (2 read");
        assertThat(Files.isDirectory(tmp.resolve("index-repositories"))).isTrue();
    }

    @Test
    void badInputIsOneLineAndOtherRepositoriesStillGetIndexed() throws Exception {
        Path repo = repo("good");
        Path index = tmp.resolve("index");
        var r = CliRun.of(
                "index",
                "--repository",
                tmp.resolve("missing").toString(),
                "--repository",
                repo.toString(),
                "--index-dir",
                index.toString(),
                "--progress",
                "log");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip())
                .doesNotContain("\n")
                .contains("repository missing")
                .contains("no such directory");
        assertThat(r.out()).contains("good: 2 files");
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        assertThat(CliRun.of("index", "--repository", plain.toString(), "--index-dir", index.toString())
                        .err())
                .contains("is not inside a git repository");
        assertThat(CliRun.of(
                                "index",
                                "--index-dir",
                                index.toString(),
                                "--config",
                                tmp.resolve("none.toml").toString())
                        .err())
                .contains("--config")
                .contains("no such file");
        Path empty = Files.writeString(tmp.resolve("empty.toml"), "");
        assertThat(CliRun.of("index", "--index-dir", index.toString(), "--config", empty.toString())
                        .err())
                .contains("no repositories");
        // a locked index (another writer) is refused, and the lock is left to its owner
        try (var lock = org.apache.lucene.store.FSDirectory.open(index).obtainLock("write.lock")) {
            var locked = CliRun.of("index", "--repository", repo.toString(), "--index-dir", index.toString());
            assertThat(locked.exit()).isEqualTo(1);
            assertThat(locked.err().strip()).doesNotContain("\n").contains("is locked by another writer");
        }
    }

    @Test
    void serveSearchesTheIndexAndPutsItIntoCompletions() throws Exception {
        Path repo = repo("blog");
        Path index = tmp.resolve("index");
        assertThat(CliRun.of(
                                "index",
                                "--repository",
                                repo.toString(),
                                "--index-dir",
                                index.toString(),
                                "--progress",
                                "log")
                        .exit())
                .isZero();
        var cmd = new ServeCommand();
        new CommandLine(cmd)
                .parseArgs(
                        "--model",
                        CliRun.FIXTURES
                                .resolve("models/tiny-starcoder-17m-q8_0.gguf")
                                .toString(),
                        "--port",
                        "0",
                        "--threads",
                        "2",
                        "--parallelism",
                        "1",
                        "--events-dir",
                        tmp.resolve("ev").toString(),
                        "--repository",
                        repo.toString(),
                        "--index-dir",
                        index.toString());
        var json = new ObjectMapper();
        try (var running = cmd.start()) {
            var http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + running.server().port();
            JsonNode search = null;
            Instant until = Instant.now().plusSeconds(10); // the index opens in the background
            while (Instant.now().isBefore(until)) {
                var res = http.send(
                        HttpRequest.newBuilder(URI.create(base + "/v1beta/search?q=slugify"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (res.statusCode() == 200) {
                    search = json.readTree(res.body());
                    break;
                }
                Thread.sleep(50);
            }
            assertThat(search).isNotNull();
            assertThat(search.path("hits").get(0).path("doc").path("filepath").asText())
                    .isEqualTo("src/slugs.py");
            String body =
                    "{\"language\":\"python\",\"segments\":{\"prefix\":\"from src.slugs import slugify_title\\n\\ndef link(t):\\n    return \","
                            + "\"filepath\":\"src/links.py\",\"git_url\":\"git@github.com:someone/blog.git\"},"
                            + "\"debug_options\":{\"return_prompt\":true,\"return_snippets\":true}}";
            var completion = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .timeout(Duration.ofSeconds(60))
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode debug = json.readTree(completion.body()).path("debug_data");
            assertThat(debug.path("snippets").findValuesAsText("filepath")).isEqualTo(List.of("src/slugs.py"));
            assertThat(debug.path("prompt").asText()).startsWith("<fim_prefix># Path: src/slugs.py\n# import re\n");
        }
    }

    @Test
    void gatewayPassesRepositoriesToItsWorkersOnly() {
        var r = CliRun.of("gateway", "--worker-command", "true", "--repository", "/x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--repository goes to `catnap serve` workers");
    }
}
