package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.engine.cuda.Cuda;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

@Timeout(120)
class ServeCommandTest {
    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    static Path fixture(String name) {
        return CliRun.FIXTURES.resolve("models").resolve(name);
    }

    @Test
    void aMissingModelIsOneLineNamingTheCacheAndTheDownloadCommand() {
        var r = run(
                "serve", "--model", "TabbyML/NotThere-1B", "--models-dir", tmp.toString(), "--port", "0", "--offline");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip())
                .doesNotContain("\n")
                .contains(tmp.resolve("TabbyML").resolve("NotThere-1B").toString())
                .contains("catnap download --model TabbyML/NotThere-1B");
        var bare = run("serve", "--model", "NotThere-1B", "--models-dir", tmp.toString(), "--offline");
        assertThat(bare.err()).contains("catnap download --model TabbyML/NotThere-1B");
    }

    @Test
    void badFlagsAreOneReadableLine() throws Exception {
        // no model at all means the deployment's defaults; offline and not cached, that is one line too
        assertThat(run("serve", "--offline", "--models-dir", tmp.toString()).err())
                .contains("--model TabbyML/StarCoder-1B")
                .contains("catnap download --model TabbyML/StarCoder-1B");
        var tpu = run("serve", "--model", "x.gguf", "--device", "tpu");
        assertThat(tpu.exit()).isEqualTo(2);
        assertThat(tpu.err()).contains("unknown device 'tpu' (choose cpu or cuda)");
        assertThat(run("serve", "--model", "x.gguf", "--completion-timeout", "soon")
                        .err())
                .contains("invalid duration 'soon'");
        assertThat(run("serve", "--model", "x.gguf", "--token", "a", "--token-file", "b")
                        .err())
                .contains("not both");
        assertThat(run(
                                "serve",
                                "--model",
                                "x.gguf",
                                "--token-file",
                                tmp.resolve("none").toString())
                        .err())
                .contains("cannot read --token-file");
        Path blank = Files.writeString(tmp.resolve("blank"), " \n");
        assertThat(run("serve", "--model", "x.gguf", "--token-file", blank.toString())
                        .err())
                .contains("token is empty");
        assertThat(run("serve", "--model", "./x.gguf", "--port", "0").err()).contains("no such model file");
        assertThat(run("serve", "--model", "x.gguf", "--parallelism", "0").exit())
                .isEqualTo(2);
    }

    @Test
    void cudaWithoutAGpuIsOneLineWithTheDriversReason() {
        assumeFalse(Cuda.probe().available(), "this machine has a CUDA GPU");
        var r = run(
                "serve",
                "--model",
                fixture("tiny-starcoder-17m-q8_0.gguf").toString(),
                "--port",
                "0",
                "--device",
                "cuda");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().strip())
                .startsWith("catnap serve: --device cuda: ")
                .doesNotContain("\n")
                .doesNotContain("Exception");
    }

    @Test
    void durations() {
        assertThat(DurationConverter.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(DurationConverter.parse("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(DurationConverter.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(DurationConverter.parse("45")).isEqualTo(Duration.ofSeconds(45));
        assertThatThrownBy(() -> DurationConverter.parse("0s")).hasMessageContaining("must be positive");
    }

    @Test
    void servesASingleGgufFileWithItsOwnFimTemplateAndATokenFile() throws Exception {
        Path token = Files.writeString(tmp.resolve("token"), "tok-123\n");
        var cmd = new ServeCommand();
        new CommandLine(cmd)
                .parseArgs(
                        "--model",
                        fixture("tiny-starcoder-17m-q8_0.gguf").toString(),
                        "--port",
                        "0",
                        "--threads",
                        "2",
                        "--parallelism",
                        "2",
                        "--token-file",
                        token.toString(),
                        "--events-dir",
                        tmp.resolve("ev").toString());
        try (var running = cmd.start()) {
            var http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + running.server().port();
            var denied = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(denied.statusCode()).isEqualTo(401);
            var health = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/health"))
                            .header("Authorization", "Bearer tok-123")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(new ObjectMapper().readTree(health.body()).path("model").asText())
                    .isEqualTo("tiny-starcoder-17m-q8_0");
            var completion = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Authorization", "Bearer tok-123")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"language\":\"python\",\"segments\":{\"prefix\":\"def add(a, b):\\n    return \"},"
                                            + "\"debug_options\":{\"return_prompt\":true}}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(completion.statusCode()).isEqualTo(200);
            assertThat(new ObjectMapper()
                            .readTree(completion.body())
                            .path("debug_data")
                            .path("prompt")
                            .asText())
                    .isEqualTo("<fim_prefix>def add(a, b):\n    return <fim_suffix>\n<fim_middle>");
        }
    }

    @Test
    void servesAModelIdFromTabbysCacheLayoutWithItsTabbyJsonTemplate() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("models/TabbyML/StarCoder-1B/ggml"));
        Files.createSymbolicLink(
                dir.resolve("model-00001-of-00001.gguf"),
                fixture("tiny-starcoder-17m-q8_0.gguf").toAbsolutePath());
        // A deliberately different template, to see that tabby.json wins over the GGUF's FIM tokens.
        Files.writeString(
                dir.getParent().resolve("tabby.json"),
                "{\"name\":\"StarCoder-1B\",\"prompt_template\":\"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>//\"}");
        var cmd = new ServeCommand();
        new CommandLine(cmd)
                .parseArgs(
                        "--model",
                        "StarCoder-1B",
                        "--models-dir",
                        tmp.resolve("models").toString(),
                        "--port",
                        "0",
                        "--threads",
                        "2",
                        "--parallelism",
                        "1",
                        "--events-dir",
                        tmp.resolve("ev").toString());
        try (var running = cmd.start()) {
            var http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + running.server().port();
            var health = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(new ObjectMapper().readTree(health.body()).path("model").asText())
                    .isEqualTo("TabbyML/StarCoder-1B");
            var completion = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"segments\":{\"prefix\":\"x = \"},\"debug_options\":{\"return_prompt\":true}}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(new ObjectMapper()
                            .readTree(completion.body())
                            .path("debug_data")
                            .path("prompt")
                            .asText())
                    .isEqualTo("<fim_prefix>x = <fim_suffix>\n<fim_middle>//");
        }
    }

    @Test
    void aBusyPortAndAChatModelWithoutTemplateAreReadableErrors() throws Exception {
        String model = fixture("tiny-starcoder-17m-q8_0.gguf").toString();
        try (var busy = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            var r = run(
                    "serve",
                    "--model",
                    model,
                    "--threads",
                    "2",
                    "--port",
                    Integer.toString(busy.getLocalPort()),
                    "--events-dir",
                    tmp.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err()).contains("cannot listen on 127.0.0.1:" + busy.getLocalPort());
        }
        var noTemplate =
                run("serve", "--chat-model", model, "--threads", "2", "--port", "0", "--events-dir", tmp.toString());
        assertThat(noTemplate.exit()).isEqualTo(2);
        assertThat(noTemplate.err()).contains("has no chat template").contains("--chat-template");
    }
}
