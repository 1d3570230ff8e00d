package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DownloadCommandTest {
    @TempDir
    Path models;

    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final byte[] gguf = new byte[200_000];
    String sha;

    @BeforeEach
    void start() throws Exception {
        new Random(3).nextBytes(gguf);
        sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(gguf));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            try (ex) {
                byte[] body = files.get(ex.getRequestURI().getPath());
                if (body == null) {
                    ex.sendResponseHeaders(404, -1);
                } else {
                    ex.sendResponseHeaders(200, body.length);
                    ex.getResponseBody().write(body);
                }
            }
        });
        server.start();
        files.put("/sc.gguf", gguf);
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    void registry(String sha256, String... urls) {
        String list = String.join(
                ",", java.util.Arrays.stream(urls).map(u -> "\"" + u + "\"").toList());
        String json =
                "[{\"name\":\"StarCoder-1B\",\"prompt_template\":\"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>\",\"urls\":["
                        + list + "],\"sha256\":\"" + sha256 + "\"}]";
        files.put("/models.json", json.getBytes(StandardCharsets.UTF_8));
    }

    CliRun run(String... args) {
        return CliRun.of(args);
    }

    CliRun download(String... extra) {
        String[] base = {
            "download",
            "--models-dir",
            models.toString(),
            "--registry",
            url("/models.json"),
            "--progress",
            "log",
            "--retries",
            "1"
        };
        String[] all = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, all, base.length, extra.length);
        return run(all);
    }

    @Test
    void downloadsThenListsTheModelAsVerified() throws IOException {
        registry(sha, url("/sc.gguf"));
        CliRun r = download("--model", "StarCoder-1B", "--kind", "completion");
        assertThat(r.exit()).as(r.err()).isZero();
        Path entry = models.resolve("TabbyML/StarCoder-1B/ggml/model-00001-of-00001.gguf");
        assertThat(r.out())
                .isEqualTo("TabbyML/StarCoder-1B: downloaded and verified (0.2 MiB fetched): " + entry
                        + System.lineSeparator());
        assertThat(Files.readAllBytes(entry)).isEqualTo(gguf);

        server.stop(0);
        CliRun again = download("--model", "TabbyML/StarCoder-1B");
        assertThat(again.exit()).isZero();
        assertThat(again.out()).contains("already present and verified");

        CliRun list = run("models", "--models-dir", models.toString());
        assertThat(list.exit()).isZero();
        assertThat(list.out().lines().toList()).hasSize(2);
        assertThat(list.out().lines().toList().get(0)).matches("MODEL\\s+SIZE\\s+STATUS\\s+PATH");
        assertThat(list.out().lines().toList().get(1))
                .matches("TabbyML/StarCoder-1B\\s+195\\.3 KiB\\s+verified\\s+"
                        + java.util.regex.Pattern.quote(
                                models.resolve("TabbyML/StarCoder-1B").toString()));
    }

    @Test
    void checksumMismatchExitsFiveWithBothHashes() {
        String wrong = "ab".repeat(32);
        registry(wrong, url("/sc.gguf"));
        CliRun r = download("--model", "StarCoder-1B");
        assertThat(r.exit()).isEqualTo(5);
        assertThat(r.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap download: checksum mismatch")
                .contains("expected sha256 " + wrong)
                .contains("got " + sha);
        assertThat(models.resolve("TabbyML/StarCoder-1B/ggml/model-00001-of-00001.gguf.part"))
                .doesNotExist();
    }

    @Test
    void badInputsGetOneLineAndTheirExitCodes() throws IOException {
        registry(sha, url("/sc.gguf"));
        assertThat(download("--model", "../../etc").exit()).isEqualTo(2);
        CliRun abs = download("--model", "/etc/passwd");
        assertThat(abs.exit()).isEqualTo(2);
        assertThat(abs.err())
                .isEqualTo("catnap download: model id '/etc/passwd' looks like a path; expected Org/Name or Name"
                        + System.lineSeparator());

        CliRun wrongRole = download("--model", "StarCoder-1B", "--kind", "chat");
        assertThat(wrongRole.exit()).isEqualTo(2);
        assertThat(wrongRole.err()).contains("cannot be used for chat: it has no chat_template");

        CliRun unknown = download("--model", "Nope");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("TabbyML/Nope is not in the registry");

        registry(sha, url("/gone.gguf"));
        CliRun network = download("--model", "StarCoder-1B");
        assertThat(network.exit()).isEqualTo(4);
        assertThat(network.err()).contains("HTTP 404");

        files.remove("/models.json");
        CliRun noRegistry = download("--model", "Other");
        assertThat(noRegistry.exit())
                .as(noRegistry.err())
                .isEqualTo(2); // Other is not in the cached registry from the runs above

        Path fresh = models.resolve("fresh");
        CliRun unavailable = run(
                "download",
                "--models-dir",
                fresh.toString(),
                "--registry",
                url("/models.json"),
                "--model",
                "StarCoder-1B");
        assertThat(unavailable.exit()).isEqualTo(3);
        assertThat(unavailable.err()).contains("no cached copy");

        Path blocker = models.resolve("a-file");
        Files.writeString(blocker, "x");
        CliRun unwritable = run(
                "download",
                "--models-dir",
                blocker.toString(),
                "--registry",
                url("/models.json"),
                "--model",
                "StarCoder-1B");
        assertThat(unwritable.exit()).isEqualTo(6);
        assertThat(unwritable.err()).startsWith("catnap download: cannot create model directory");
    }

    @Test
    void modelsOnAnEmptyCacheSaysSo() {
        CliRun r = run("models", "--models-dir", models.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("no models in " + models + System.lineSeparator());
    }
}
