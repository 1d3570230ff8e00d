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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command: `catnap gateway -- --model FILE` fronting this jar's own `catnap serve`. */
class GatewayCommandTest {
    private static final Path MODEL = CliRun.FIXTURES.resolve("models/tiny-starcoder-17m-q8_0.gguf");
    private static final Pattern LISTENING = Pattern.compile("gateway listening on http://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path tmp;

    @Test
    @Timeout(120)
    void firstCompletionStartsACatnapServeWorkerAndSigtermStopsEverything() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules",
                "jdk.incubator.vector",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "gateway",
                "--port",
                "0",
                "--state-dir",
                tmp.toString(),
                "--",
                "--model",
                MODEL.toString(),
                "--events-dir",
                tmp.resolve("events").toString()));
        // output goes to a file: a pipe read while the process exits can lose its last lines
        Path logFile = tmp.resolve("gateway.log");
        Process gateway = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .start();
        try {
            int port = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (port < 0 && System.nanoTime() < deadline && gateway.isAlive()) {
                Matcher m = LISTENING.matcher(Files.readString(logFile));
                if (m.find()) port = Integer.parseInt(m.group(1));
                else Thread.sleep(100);
            }
            assertThat(port).as("gateway output: %s", Files.readString(logFile)).isPositive();

            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            HttpResponse<String> r = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(
                                    HttpRequest.BodyPublishers.ofString(
                                            "{\"language\":\"python\",\"segments\":{\"prefix\":\"def add(a, b):\\n    return \",\"suffix\":\"\\n\"},\"temperature\":0}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode body = new ObjectMapper().readTree(r.body());
            assertThat(body.get("id").asText()).startsWith("cmpl-");
            assertThat(body.at("/choices/0/text").isTextual()).isTrue();

            JsonNode status = new ObjectMapper()
                    .readTree(http.send(
                                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/gateway/status"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body());
            long worker = status.at("/workers/0/pid").asLong();
            assertThat(ProcessHandle.of(worker).map(ProcessHandle::isAlive)).hasValue(true);

            gateway.destroy(); // SIGTERM
            assertThat(gateway.waitFor(40, TimeUnit.SECONDS)).isTrue();
            assertThat(gateway.exitValue()).isZero();
            assertThat(ProcessHandle.of(worker).map(ProcessHandle::isAlive).orElse(false))
                    .isFalse();
            // the worker drained and exited cleanly on the gateway's SIGTERM
            assertThat(Files.readString(logFile))
                    .contains("pid " + worker + ", port")
                    .containsPattern("worker 1 \\(pid " + worker + ", port \\d+\\) exited with code 0");
        } finally {
            gateway.destroyForcibly();
        }
    }

    /** The issue's table through the real command: `catnap gateway -- --model FILE --token s3cret`. */
    @Test
    @Timeout(120)
    void theWorkersTokenGuardsTheGatewayAndNothingUnauthenticatedStartsAWorker() throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElseThrow(),
                "--add-modules",
                "jdk.incubator.vector",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "gateway",
                "--port",
                "0",
                "--state-dir",
                tmp.toString(),
                "--",
                "--model",
                MODEL.toString(),
                "--token",
                "s3cret",
                "--events-dir",
                tmp.resolve("events").toString()));
        Path logFile = tmp.resolve("gateway.log");
        Process gateway = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile())
                .start();
        try {
            int port = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (port < 0 && System.nanoTime() < deadline && gateway.isAlive()) {
                Matcher m = LISTENING.matcher(Files.readString(logFile));
                if (m.find()) port = Integer.parseInt(m.group(1));
                else Thread.sleep(100);
            }
            assertThat(port).as("gateway output: %s", Files.readString(logFile)).isPositive();
            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            String base = "http://127.0.0.1:" + port;
            String completion =
                    "{\"language\":\"python\",\"segments\":{\"prefix\":\"def f():\\n    return \",\"suffix\":\"\\n\"},\"temperature\":0}";

            HttpResponse<String> wrong = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/health"))
                            .header("Authorization", "Bearer wrong")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(wrong.body())
                    .isEqualTo("{\"error\":{\"message\":\"invalid token\",\"type\":\"unauthorized\",\"code\":401}}");
            HttpResponse<String> none = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .POST(HttpRequest.BodyPublishers.ofString(completion))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(none.statusCode()).isEqualTo(401);
            for (String admin : new String[] {"/gateway/status", "/metrics"}) {
                assertThat(http.send(
                                        HttpRequest.newBuilder(URI.create(base + admin))
                                                .build(),
                                        HttpResponse.BodyHandlers.ofString())
                                .statusCode())
                        .as(admin)
                        .isEqualTo(401);
            }
            HttpResponse<String> big = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Authorization", "Bearer s3cret")
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"x\":\"" + "a".repeat(3_000_000) + "\"}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(big.statusCode()).isEqualTo(413);
            assertThat(big.body()).contains("request body exceeds 1048576 bytes");
            HttpRequest statusReq = HttpRequest.newBuilder(URI.create(base + "/gateway/status"))
                    .header("Authorization", "Bearer s3cret")
                    .build();
            JsonNode status = new ObjectMapper()
                    .readTree(http.send(statusReq, HttpResponse.BodyHandlers.ofString())
                            .body());
            assertThat(status.get("workers")).isEmpty(); // none of the above started one

            HttpResponse<String> ok = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Authorization", "Bearer s3cret")
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(completion))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200); // the worker checks the same token
            // invalid UTF-8 in the JSON reaches the worker, which answers 400, and the gateway keeps serving
            byte[] badUtf8 = {'{', '"', 'l', 'a', 'n', 'g', 'u', 'a', 'g', 'e', '"', ':', '"', (byte) 0xC3, '"', '}'};
            HttpResponse<String> bad = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                            .header("Authorization", "Bearer s3cret")
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(badUtf8))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
            assertThat(bad.body()).contains("not valid JSON");
            assertThat(Files.readString(logFile)).contains("1 token(s)").contains("--max-body-size 1048576");
            gateway.destroy();
            assertThat(gateway.waitFor(40, TimeUnit.SECONDS)).isTrue();
        } finally {
            gateway.destroyForcibly();
        }
    }

    @Test
    void badSettingsAreOneLineAndExitTwo() {
        var r = CliRun.of("gateway", "--max-inputs", "0", "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("catnap gateway: max-inputs must be at least 1, got 0");

        r = CliRun.of("gateway", "--readiness", "udp", "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("catnap gateway: readiness must be tcp or http:PATH, got udp");

        r = CliRun.of("gateway", "--worker-command", "python3 -m http.server", "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("catnap gateway: worker command must contain {port}");

        r = CliRun.of("gateway", "--token", "a", "--token-file", "f", "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("catnap gateway: give --token or --token-file, not both");

        r = CliRun.of("gateway", "--token-file", tmp.resolve("missing").toString(), "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).startsWith("catnap gateway: cannot read token file");

        r = CliRun.of("gateway", "--max-body-size", "lots", "--state-dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("invalid size 'lots'");

        r = CliRun.of("gateway", "--scaledown-window", "soon");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("invalid duration 'soon'");
    }
}
