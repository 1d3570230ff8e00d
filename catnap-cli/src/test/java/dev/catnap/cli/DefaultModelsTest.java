package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new user's first run: `catnap gateway` with no model against a loopback Tabby registry (standing in for
 * Tabby's, with the fixtures as the three default models) downloads before it listens; the second run is offline.
 */
class DefaultModelsTest {
    private static final Pattern LISTENING = Pattern.compile("gateway listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final Map<String, String> FIXTURE_FOR = Map.of(
            "StarCoder-1B", "tiny-starcoder-17m-q8_0.gguf",
            "Qwen2-1.5B-Instruct", "synth-qwen2-tiny-q8_0.gguf",
            "Nomic-Embed-Text", "synth-nomic-bert-tiny-f32.gguf");

    @TempDir
    Path tmp;

    HttpServer registry;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final AtomicInteger fileRequests = new AtomicInteger();

    @BeforeEach
    void startRegistry() throws Exception {
        registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        registry.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        registry.createContext("/", ex -> {
            try (ex) {
                byte[] content = files.get(ex.getRequestURI().getPath());
                if (ex.getRequestURI().getPath().startsWith("/files/")) fileRequests.incrementAndGet();
                if (content == null) {
                    ex.sendResponseHeaders(404, -1);
                } else {
                    ex.sendResponseHeaders(200, content.length);
                    ex.getResponseBody().write(content);
                }
            }
        });
        registry.start();
        String base = "http://127.0.0.1:" + registry.getAddress().getPort();
        var mapper = new ObjectMapper();
        ArrayNode entries = mapper.createArrayNode();
        for (var e : FIXTURE_FOR.entrySet()) {
            byte[] gguf = Files.readAllBytes(CliRun.FIXTURES.resolve("models").resolve(e.getValue()));
            files.put("/files/" + e.getKey() + ".gguf", gguf);
            ObjectNode entry = entries.addObject().put("name", e.getKey());
            entry.putArray("urls").add(base + "/files/" + e.getKey() + ".gguf");
            entry.put(
                    "sha256",
                    HexFormat.of()
                            .formatHex(MessageDigest.getInstance("SHA-256").digest(gguf)));
            switch (e.getKey()) {
                case "StarCoder-1B" ->
                    entry.put("prompt_template", "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");
                case "Qwen2-1.5B-Instruct" ->
                    entry.put(
                            "chat_template",
                            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
                default -> {}
            }
        }
        files.put("/models.json", mapper.writeValueAsBytes(entries));
    }

    @AfterEach
    void stopRegistry() {
        registry.stop(0);
    }

    private String registryUrl() {
        return "http://127.0.0.1:" + registry.getAddress().getPort() + "/models.json";
    }

    @Test
    @Timeout(240)
    void firstRunDownloadsTheDefaultModelsBeforeListeningAndTheSecondRunsOffline() throws Exception {
        Path models = tmp.resolve("models");
        String firstLog =
                completionThroughGateway("first", "--models-dir", models.toString(), "--registry", registryUrl());
        for (String name : FIXTURE_FOR.keySet()) {
            assertThat(models.resolve("TabbyML").resolve(name).resolve("ggml/model-00001-of-00001.gguf"))
                    .exists();
            int download = firstLog.indexOf("TabbyML/" + name + " is not in the model cache");
            assertThat(download).as(firstLog).isNotNegative();
            assertThat(download)
                    .as("downloaded before the gateway listens")
                    .isLessThan(firstLog.indexOf("gateway listening on"));
        }
        assertThat(firstLog).contains("serve --port").contains("--offline"); // the worker itself never downloads
        assertThat(firstLog)
                .contains(
                        "no model given: serving TabbyML/StarCoder-1B (completion), TabbyML/Qwen2-1.5B-Instruct (chat) and TabbyML/Nomic-Embed-Text (embeddings)");
        int fetched = fileRequests.get();
        assertThat(fetched).isEqualTo(3);

        registry.stop(0); // no network from here on
        String secondLog = completionThroughGateway("second", "--models-dir", models.toString(), "--offline");
        assertThat(secondLog).doesNotContain("is not in the model cache");
        assertThat(fileRequests.get()).isEqualTo(fetched);
    }

    @Test
    void offlineWithAnEmptyCacheIsOneLineThatNamesCatnapDownload() throws Exception {
        Path empty = tmp.resolve("empty");
        CliRun serve = CliRun.of("serve", "--offline", "--models-dir", empty.toString(), "--port", "0");
        assertThat(serve.exit()).isEqualTo(2);
        assertThat(serve.err().lines().toList())
                .singleElement()
                .asString()
                .isEqualTo(
                        "catnap serve: --model TabbyML/StarCoder-1B is not in the model cache (looked in "
                                + empty.resolve("TabbyML/StarCoder-1B")
                                + ") and --offline is set; fetch it first with: catnap download --model TabbyML/StarCoder-1B --kind completion");

        CliRun gateway = CliRun.of(
                "gateway",
                "--port",
                "0",
                "--state-dir",
                tmp.resolve("state").toString(),
                "--",
                "--models-dir",
                empty.toString(),
                "--chat-model",
                "Qwen2-1.5B-Instruct",
                "--offline");
        assertThat(gateway.exit()).isEqualTo(2);
        assertThat(gateway.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap gateway: --chat-model TabbyML/Qwen2-1.5B-Instruct is not in the model cache")
                .endsWith("catnap download --model TabbyML/Qwen2-1.5B-Instruct --kind chat");
    }

    @Test
    void noNetworkIsOneLineThatNamesCatnapDownload() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        CliRun serve = CliRun.of(
                "serve",
                "--models-dir",
                tmp.resolve("m").toString(),
                "--port",
                "0",
                "--model",
                "StarCoder-1B",
                "--registry",
                "http://127.0.0.1:" + closed + "/models.json");
        assertThat(serve.exit()).isEqualTo(3);
        assertThat(serve.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap serve: cannot download TabbyML/StarCoder-1B: ")
                .contains("fetch it with: catnap download --model TabbyML/StarCoder-1B");
    }

    @Test
    void invalidServeArgumentsAfterTheDoubleDashAreOneLine() {
        CliRun gateway = CliRun.of(
                "gateway", "--port", "0", "--state-dir", tmp.resolve("state").toString(), "--", "--no-such-flag");
        assertThat(gateway.exit()).isEqualTo(2);
        assertThat(gateway.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith(
                        "catnap gateway: invalid `catnap serve` arguments after --: Unknown option: '--no-such-flag'");
    }

    /** Starts `catnap gateway -- SERVE_ARGS` as a process, sends one completion, stops it; returns its log. */
    private String completionThroughGateway(String name, String... serveArgs) throws Exception {
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
                tmp.resolve(name + "-state").toString(),
                "--",
                "--events-dir",
                tmp.resolve("events").toString(),
                "--threads",
                "1"));
        cmd.addAll(List.of(serveArgs));
        Path logFile = tmp.resolve(name + ".log");
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logFile.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("TABBY_"));
        Process gateway = pb.start();
        try {
            int port = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
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
                            .timeout(Duration.ofSeconds(90))
                            .header("Content-Type", "application/json")
                            .POST(
                                    HttpRequest.BodyPublishers.ofString(
                                            "{\"language\":\"python\",\"segments\":{\"prefix\":\"def add(a, b):\\n    return \",\"suffix\":\"\\n\"},\"temperature\":0}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode())
                    .as("%s\n%s", r.body(), Files.readString(logFile))
                    .isEqualTo(200);
            assertThat(new ObjectMapper()
                            .readTree(r.body())
                            .at("/choices/0/text")
                            .isTextual())
                    .isTrue();
            gateway.destroy();
            assertThat(gateway.waitFor(40, TimeUnit.SECONDS)).isTrue();
            assertThat(gateway.exitValue()).isZero();
            return Files.readString(logFile);
        } finally {
            gateway.destroyForcibly();
        }
    }
}
