package dev.catnap.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Builds gateways over {@link TestWorker} processes, with short timings so that tests stay fast. */
final class TestGateways {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private TestGateways() {}

    static List<String> javaCommand(String mainClass, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Xshare:auto");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass);
        cmd.addAll(List.of(args));
        return cmd;
    }

    static List<String> worker(String... opts) {
        List<String> args = new ArrayList<>();
        args.add("{port}");
        args.addAll(List.of(opts));
        return javaCommand(TestWorker.class.getName(), args.toArray(String[]::new));
    }

    /** Mutable settings for one test, starting from the seed's defaults with test-sized timings. */
    static final class Settings {
        List<String> command;
        int maxInputs = 10;
        Duration scaledown = Duration.ofSeconds(30);
        int minWorkers = 0;
        int maxWorkers = 1;
        Duration startupTimeout = Duration.ofSeconds(30);
        int maxQueue = 100;
        Duration queueTimeout = Duration.ofSeconds(30);
        Readiness readiness = new Readiness.Tcp();
        Duration drain = Duration.ofSeconds(5);
        int failureLimit = 3;
        Duration cooldown = Duration.ofSeconds(30);
        Path stateDir;

        Settings(List<String> command, Path stateDir) {
            this.command = command;
            this.stateDir = stateDir;
        }

        GatewayConfig config() {
            return new GatewayConfig(
                    "127.0.0.1",
                    0,
                    command,
                    maxInputs,
                    scaledown,
                    minWorkers,
                    maxWorkers,
                    startupTimeout,
                    maxQueue,
                    queueTimeout,
                    readiness,
                    drain,
                    failureLimit,
                    cooldown,
                    stateDir);
        }
    }

    static HttpResponse<String> get(Gateway g, String path) throws Exception {
        return send(g, HttpRequest.newBuilder(uri(g, path)).GET().build());
    }

    static HttpResponse<String> send(Gateway g, HttpRequest req) throws Exception {
        return CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
    }

    static URI uri(Gateway g, String path) {
        return URI.create("http://127.0.0.1:" + g.port() + path);
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    static JsonNode status(Gateway g) throws Exception {
        return json(get(g, "/gateway/status"));
    }

    /** Polls {@code condition} every 50 ms for at most {@code within}. */
    static boolean eventually(Duration within, java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.call()) return true;
            Thread.sleep(50);
        }
        return condition.call();
    }

    static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    static double metric(Gateway g, String name) throws Exception {
        for (String line : get(g, "/metrics").body().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return Double.NaN;
    }
}
