package dev.catnap.cli;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.gateway.Gateway;
import dev.catnap.gateway.GatewayConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code catnap aot-train} (hidden): the training run for the JDK's ahead-of-time cache. The launcher runs it under
 * {@code -XX:AOTCacheOutput}; the cache then holds the classes, linkage and method profiles of what a cold start
 * does: parsing a command line, loading a StarCoder GGUF, starting the Tabby server and the gateway, and answering
 * completions (one through the gateway and a worker process, others in this process). It needs no model and no
 * network: it writes a small StarCoder-architecture model with random weights and a byte-level vocabulary.
 */
@Command(
        name = "aot-train",
        hidden = true,
        mixinStandardHelpOptions = true,
        description = "Training run for the JDK AOT cache (run by the launcher under -XX:AOTCacheOutput).")
final class AotTrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--completions",
            defaultValue = "8",
            description = "Completions answered in this process (default ${DEFAULT-VALUE}).")
    int completions;

    @Option(names = "--no-gateway", description = "Skip the gateway and its worker process.")
    boolean noGateway;

    private static final String BODY =
            "{\"language\":\"python\",\"segments\":{\"prefix\":\"def fib(n):\\n    \",\"suffix\":\"\\n\"}}";

    @Override
    public Integer call() throws Exception {
        if (completions < 1 || completions > 100) throw new UserError("--completions must be in 1..100");
        Path dir = Files.createTempDirectory("catnap-aot-train");
        try {
            Path model = writeModel(dir);
            var serve = new ServeCommand();
            new CommandLine(serve)
                    .parseArgs(
                            "--model",
                            model.toString(),
                            "--port",
                            "0",
                            "--threads",
                            "2",
                            "--events-dir",
                            dir.resolve("events").toString());
            try (ServeCommand.Running running = serve.start();
                    HttpClient http = HttpClient.newBuilder()
                            .version(HttpClient.Version.HTTP_1_1)
                            .build()) {
                String local = "http://127.0.0.1:" + running.server().port();
                for (int i = 0; i < completions; i++) post(http, local + "/v1/completions", BODY);
                get(http, local + "/v1/health");
                if (!noGateway) throughGateway(http, model, dir);
            }
        } finally {
            deleteTree(dir);
        }
        spec.commandLine().getOut().println("aot-train: done");
        return 0;
    }

    /** A gateway in this process, its worker a child process (started without the AOT output flags). */
    private static void throughGateway(HttpClient http, Path model, Path dir) throws IOException, InterruptedException {
        List<String> worker = new ArrayList<>();
        for (String a : GatewayCommand.selfCommand()) {
            if (!a.startsWith("-XX:AOTCacheOutput")
                    && !a.startsWith("-XX:AOTMode")
                    && !a.startsWith("-XX:AOTConfiguration")) {
                worker.add(a);
            }
        }
        worker.addAll(List.of(
                "serve",
                "--port",
                "{port}",
                "--model",
                model.toString(),
                "--events-dir",
                dir.resolve("events").toString()));
        GatewayConfig config = GatewayConfig.defaults(worker, dir.resolve("gateway"));
        config = new GatewayConfig(
                "127.0.0.1",
                0,
                worker,
                config.maxInputs(),
                config.scaledownWindow(),
                0,
                1,
                Duration.ofSeconds(120),
                config.maxQueue(),
                Duration.ofSeconds(120),
                config.readiness(),
                Duration.ofSeconds(10),
                3,
                config.failureCooldown(),
                dir.resolve("gateway"));
        try (Gateway gateway = Gateway.start(config)) {
            String base = "http://127.0.0.1:" + gateway.port();
            post(http, base + "/v1/completions", BODY);
            post(http, base + "/v1/completions", BODY);
            get(http, base + "/v1/health");
            get(http, base + "/metrics");
            get(http, base + "/");
        }
    }

    private static void post(HttpClient http, String url, String body) throws IOException, InterruptedException {
        var r = http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(120))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200)
            throw new IllegalStateException(
                    "training request " + url + " got HTTP " + r.statusCode() + ": " + r.body());
    }

    private static void get(HttpClient http, String url) throws IOException, InterruptedException {
        http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .timeout(Duration.ofSeconds(30))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** StarCoder architecture, 2 blocks of width 64, Q8_0, on a small byte-level BPE vocabulary with FIM tokens. */
    static Path writeModel(Path dir) throws IOException {
        Path vocab = dir.resolve("vocab.gguf");
        SyntheticVocabulary.write(vocab, 512);
        Path model = dir.resolve("train-starcoder-q8_0.gguf");
        SyntheticStarCoder.write(model, GGMLType.Q8_0, vocab, 2, 64, 4, 256, 512);
        return model;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
