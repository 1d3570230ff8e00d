package dev.catnap.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Completion latency of {@code catnap serve} as an editor sees it: a Tabby-typical request (about 1,500 bytes of
 * Python prefix and suffix, up to 64 new tokens, Tabby's sampling) over HTTP on loopback, from N concurrent
 * clients that each send their next request as soon as the last one is answered.
 *
 * <pre>
 * scripts/serve-bench MODEL.gguf [threads=2] [clients=1,10] [requests-per-client=10]
 * </pre>
 * A program in the test sources, not in catnap.jar: no shipped command runs it, and the script builds its class path.
 * Prints p50/p99 latency, completions per second and tokens generated per completion for each client count.
 */
final class ServeBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ServeBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println(
                    "usage: scripts/serve-bench MODEL.gguf [threads] [clients,clients...] [requests-per-client]");
            System.exit(2);
        }
        Path gguf = Path.of(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int[] clientCounts = args.length > 2
                ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 10};
        int perClient = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        int parallelism = Arrays.stream(clientCounts).max().orElse(1);
        Path events = Files.createTempDirectory("catnap-bench-events");
        try (var model = Engine.languageModel(gguf, new EngineOptions(threads, parallelism, 1L << 30))) {
            var options = new ServerOptions(
                    "127.0.0.1",
                    0,
                    parallelism,
                    ServerOptions.defaultQueueLimit(parallelism),
                    Optional.empty(),
                    events,
                    Duration.ofMinutes(10),
                    "cpu",
                    "bench");
            var completion = new CompletionModel(
                    gguf.getFileName().toString(),
                    new EngineTextModel(model),
                    EngineTextModel.fimTemplate(model.tokenizer()));
            try (var server = TabbyServer.start(options, Optional.of(completion), Optional.empty(), Optional.empty())) {
                var http = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(10))
                        .build();
                String url = "http://127.0.0.1:" + server.port() + "/v1/completions";
                System.out.printf(
                        "model %s, %d engine threads, %d-byte prompt, %d requests per client%n",
                        gguf.getFileName(), threads, body(0).length(), perClient);
                run(http, url, 1, 3); // warm-up: JIT and page-in of the weights
                for (int clients : clientCounts) run(http, url, clients, perClient);
            }
        }
    }

    private static void run(HttpClient http, String url, int clients, int perClient) throws Exception {
        var latencies = new ArrayList<Long>();
        var chars = new AtomicInteger();
        double tokensBefore = tokensGenerated(http, url);
        long start = System.nanoTime();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var futures = new ArrayList<Future<List<Long>>>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                futures.add(pool.submit(() -> {
                    var mine = new ArrayList<Long>();
                    for (int i = 0; i < perClient; i++) {
                        String body = body(client * 1000 + i);
                        long t0 = System.nanoTime();
                        var r = http.send(
                                HttpRequest.newBuilder(URI.create(url))
                                        .timeout(Duration.ofMinutes(10))
                                        .POST(HttpRequest.BodyPublishers.ofString(body))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                        mine.add(System.nanoTime() - t0);
                        if (r.statusCode() != 200)
                            throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
                        chars.addAndGet(JSON.readTree(r.body())
                                .path("choices")
                                .get(0)
                                .path("text")
                                .asText()
                                .length());
                    }
                    return mine;
                }));
            }
            for (var f : futures) latencies.addAll(f.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double tokens = tokensGenerated(http, url) - tokensBefore;
        long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf(
                "clients %2d: %3d completions, p50 %7.1f ms, p99 %7.1f ms, %6.2f completions/s, %.1f tokens and %.0f chars per completion%n",
                clients,
                sorted.length,
                percentile(sorted, 50) / 1e6,
                percentile(sorted, 99) / 1e6,
                sorted.length / seconds,
                tokens / sorted.length,
                (double) chars.get() / sorted.length);
    }

    /** The server's own count, from /metrics. */
    private static double tokensGenerated(HttpClient http, String completionsUrl) throws Exception {
        String metrics = http.send(
                        HttpRequest.newBuilder(URI.create(completionsUrl.replace("/v1/completions", "/metrics")))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        return metrics.lines()
                .filter(l -> l.startsWith("catnap_tokens_generated_total{model=\"completion\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    private static long percentile(long[] sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** About 1,500 bytes of prefix + suffix; the variant number makes every prompt distinct. */
    static String body(int variant) {
        var prefix = new StringBuilder("import os\nimport sys\nfrom collections import OrderedDict\n\n\n");
        prefix.append("class LRUCache:\n    \"\"\"A least-recently-used cache of at most `capacity` entries (variant ")
                .append(variant)
                .append(").\"\"\"\n\n");
        prefix.append(
                "    def __init__(self, capacity):\n        self.capacity = capacity\n        self._data = OrderedDict()\n\n");
        prefix.append(
                        "    def get(self, key, default=None):\n        if key not in self._data:\n            return default\n")
                .append("        self._data.move_to_end(key)\n        return self._data[key]\n\n");
        prefix.append(
                        "    def put(self, key, value):\n        if key in self._data:\n            self._data.move_to_end(key)\n")
                .append("        self._data[key] = value\n        if len(self._data) > self.capacity:\n")
                .append("            self._data.popitem(last=False)\n\n");
        prefix.append("    def __contains__(self, key):\n        return key in self._data\n\n");
        prefix.append("    def __len__(self):\n        return len(self._data)\n\n");
        prefix.append("    def items(self):\n        return list(self._data.items())\n\n");
        prefix.append("    def clear(self):\n        self._data.clear()\n\n");
        prefix.append(
                "\ndef read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n\n");
        prefix.append(
                        "\ndef count_words(lines):\n    counts = {}\n    for line in lines:\n        for word in line.split():\n")
                .append("            counts[word] = counts.get(word, 0) + 1\n    return counts\n\n");
        prefix.append(
                "\ndef top_words(path, n=10, cache=LRUCache(16)):\n    if path in cache:\n        return cache.get(path)\n    ");
        String suffix = "\n\n\nif __name__ == \"__main__\":\n    for word, count in top_words(sys.argv[1]):\n"
                + "        print(word, count)\n";
        try {
            return "{\"language\":\"python\",\"segments\":{\"prefix\":" + JSON.writeValueAsString(prefix.toString())
                    + ",\"suffix\":" + JSON.writeValueAsString(suffix) + "}}";
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
