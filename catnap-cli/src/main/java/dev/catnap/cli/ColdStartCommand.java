package dev.catnap.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code catnap cold-start}: what an editor's first request waits for when the gateway has no worker. Each run starts
 * a fresh gateway process (same JVM flags as this one, or another jar), sends one completion, and takes the time to
 * its first byte; the gateway's and the worker's log lines give the split (JVM start, init, model open, HTTP start,
 * warm-up, first completion) and the worker's RSS when ready.
 */
@Command(
        name = "cold-start",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark a cold start: gateway at zero workers -> one completion -> time to first byte, repeated --runs times",
            "with a new gateway process each time. Prints one line per run, then median and max per phase (and JSON with --json).",
        })
final class ColdStartCommand implements java.util.concurrent.Callable<Integer> {
    private static final Pattern READY = Pattern.compile("worker \\d+ \\(pid (\\d+), port \\d+\\) ready in (\\d+) ms");
    private static final Pattern STARTUP = Pattern.compile(
            "startup: jvm (\\d+) ms, init (\\d+) ms, models (\\d+) ms, http (\\d+) ms, warm-up (\\d+) ms; ready (\\d+) ms after launch, RSS (\\d+) MiB");
    private static final Pattern OLD_LISTENING =
            Pattern.compile("listening on http://\\S+ \\(models loaded in (\\d+) ms\\)");
    private static final Pattern FIRST = Pattern.compile("first completion in (\\d+) ms");
    private static final String BODY =
            "{\"language\":\"python\",\"segments\":{\"prefix\":\"def fib(n):\\n    \",\"suffix\":\"\\n\"},\"seed\":1}";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "ID|DIR|FILE",
            description = "The worker's completion model.")
    String model;

    @Option(
            names = "--runs",
            defaultValue = "10",
            paramLabel = "N",
            description = "Cold starts to measure (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(
            names = "--jar",
            paramLabel = "JAR",
            description = "Measure this catnap jar instead of this one (e.g. an older build).")
    Path jar;

    @Option(
            names = "--java-option",
            paramLabel = "OPT",
            description =
                    "Extra JVM option for the gateway and its workers (repeatable), e.g. -XX:AOTCache=catnap.aot.")
    List<String> javaOptions = new ArrayList<>();

    @Option(names = "--no-aot", description = "Leave out the -XX:AOTCache option this process was started with.")
    boolean noAot;

    @Option(
            names = "--serve-arg",
            paramLabel = "ARG",
            description = "Extra argument for the worker's `catnap serve` (repeatable).")
    List<String> serveArgs = new ArrayList<>();

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every run and the summary as JSON.")
    Path json;

    /** One cold start; -1 where the log did not say (an older build). */
    record Run(
            long ttfbMs,
            long readyMs,
            long jvmMs,
            long initMs,
            long modelsMs,
            long httpMs,
            long warmupMs,
            long firstCompletionMs,
            long afterReadyMs,
            long rssMiB,
            long warmMs) {}

    @Override
    public Integer call() throws Exception {
        if (runs < 1 || runs > 100) throw new UserError("--runs must be in 1..100");
        PrintWriter out = spec.commandLine().getOut();
        List<String> base = gatewayCommand();
        out.println("# " + String.join(" ", base) + " -- --model " + model + " " + String.join(" ", serveArgs));
        out.println(String.format(
                Locale.ROOT,
                "%-4s %8s %8s %6s %6s %7s %6s %8s %8s %8s %6s %6s",
                "run",
                "ttfb",
                "ready",
                "jvm",
                "init",
                "models",
                "http",
                "warm-up",
                "first",
                "after",
                "rss",
                "warm"));
        out.flush();
        List<Run> results = new ArrayList<>();
        try (HttpClient http =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            for (int i = 1; i <= runs; i++) {
                Run r = once(base, http);
                results.add(r);
                out.println(String.format(
                        Locale.ROOT,
                        "%-4d %8d %8d %6s %6s %7s %6s %8s %8s %8d %6s %6d",
                        i,
                        r.ttfbMs(),
                        r.readyMs(),
                        opt(r.jvmMs()),
                        opt(r.initMs()),
                        opt(r.modelsMs()),
                        opt(r.httpMs()),
                        opt(r.warmupMs()),
                        opt(r.firstCompletionMs()),
                        r.afterReadyMs(),
                        opt(r.rssMiB()),
                        r.warmMs()));
                out.flush();
            }
        }
        Map<String, Map<String, Long>> summary = summary(results);
        out.println("median " + summaryLine(summary, "median"));
        out.println("max    " + summaryLine(summary, "max"));
        out.flush();
        if (json != null) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("command", base);
            doc.put("model", model);
            doc.put("runs", results);
            doc.put("summary", summary);
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(json.toFile(), doc);
        }
        return 0;
    }

    private static String opt(long v) {
        return v < 0 ? "-" : Long.toString(v);
    }

    private static final List<String> COLUMNS =
            List.of("ttfb", "ready", "jvm", "init", "models", "http", "warm-up", "first", "after", "rss", "warm");

    private static long[] values(Run r) {
        return new long[] {
            r.ttfbMs(),
            r.readyMs(),
            r.jvmMs(),
            r.initMs(),
            r.modelsMs(),
            r.httpMs(),
            r.warmupMs(),
            r.firstCompletionMs(),
            r.afterReadyMs(),
            r.rssMiB(),
            r.warmMs()
        };
    }

    static Map<String, Map<String, Long>> summary(List<Run> runs) {
        Map<String, Map<String, Long>> s = new LinkedHashMap<>();
        for (int c = 0; c < COLUMNS.size(); c++) {
            int col = c;
            long[] v = runs.stream()
                    .mapToLong(r -> values(r)[col])
                    .filter(x -> x >= 0)
                    .sorted()
                    .toArray();
            if (v.length == 0) continue;
            long median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
            s.put(COLUMNS.get(c), Map.of("median", median, "max", v[v.length - 1]));
        }
        return s;
    }

    private static String summaryLine(Map<String, Map<String, Long>> s, String which) {
        StringBuilder sb = new StringBuilder();
        for (String c : COLUMNS) {
            Map<String, Long> m = s.get(c);
            sb.append(' ').append(c).append('=').append(m == null ? "-" : m.get(which));
        }
        return sb.toString().strip();
    }

    /** The gateway's argv without its own flags: this JVM (or --jar), its flags, and --java-option. */
    private List<String> gatewayCommand() {
        List<String> self = GatewayCommand.selfCommand();
        List<String> cmd = new ArrayList<>();
        int jarAt = self.indexOf("-jar");
        int cpAt = self.indexOf("-cp");
        int end = jarAt >= 0 ? jarAt : cpAt;
        for (String a : self.subList(0, end)) {
            if (noAot && (a.startsWith("-XX:AOTCache") || a.startsWith("-XX:AOTMode"))) continue;
            cmd.add(a);
        }
        cmd.addAll(javaOptions);
        if (jar != null) {
            if (!Files.isRegularFile(jar)) throw new UserError("no such jar: " + jar);
            cmd.addAll(List.of("-jar", jar.toAbsolutePath().toString()));
        } else {
            cmd.addAll(self.subList(end, self.size()));
        }
        return cmd;
    }

    private Run once(List<String> base, HttpClient http) throws IOException, InterruptedException {
        Path state = Files.createTempDirectory("catnap-cold-start");
        int port = freePort();
        List<String> argv = new ArrayList<>(base);
        argv.addAll(List.of("gateway", "--port", Integer.toString(port), "--state-dir", state.toString(), "--"));
        argv.addAll(List.of("--model", model));
        argv.addAll(serveArgs);
        Process gateway = new ProcessBuilder(argv)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        List<String> lines = new CopyOnWriteArrayList<>();
        long[] rss = {-1};
        Thread reader = Thread.ofVirtual().start(() -> readLines(gateway.getErrorStream(), lines, rss));
        try {
            if (!awaitLine(lines, "gateway listening on", gateway, 60_000)) {
                throw new UserError("the gateway did not listen within 60 s: " + String.join(" | ", lines), 1);
            }
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .timeout(Duration.ofSeconds(300))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(BODY))
                    .build();
            long ttfb = firstByte(http, req, lines);
            long warm = firstByte(http, req, lines); // the same completion on the now warm worker, for comparison
            awaitLine(lines, "first completion in", gateway, 2_000); // absent in older builds: then only waits 2 s
            long ready = find(lines, READY, 2);
            long ttfbMs = TimeUnit.NANOSECONDS.toMillis(ttfb);
            long models = find(lines, STARTUP, 3);
            if (models < 0) models = find(lines, OLD_LISTENING, 1);
            long rssMiB = find(lines, STARTUP, 7);
            if (rssMiB < 0) rssMiB = rss[0];
            return new Run(
                    ttfbMs,
                    ready,
                    find(lines, STARTUP, 1),
                    find(lines, STARTUP, 2),
                    models,
                    find(lines, STARTUP, 4),
                    find(lines, STARTUP, 5),
                    find(lines, FIRST, 1),
                    ready < 0 ? -1 : ttfbMs - ready,
                    rssMiB,
                    TimeUnit.NANOSECONDS.toMillis(warm));
        } finally {
            gateway.destroy();
            if (!gateway.waitFor(40, TimeUnit.SECONDS))
                gateway.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            reader.join(5_000);
            deleteTree(state);
        }
    }

    /** Nanoseconds from sending {@code req} to the first byte of its answer's body; reads the rest. */
    private static long firstByte(HttpClient http, HttpRequest req, List<String> lines)
            throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        long nanos;
        try (InputStream body = resp.body()) {
            body.read();
            nanos = System.nanoTime() - t0;
            body.transferTo(java.io.OutputStream.nullOutputStream());
        }
        if (resp.statusCode() != 200) {
            throw new UserError(
                    "the completion got HTTP " + resp.statusCode() + "; gateway log: " + String.join(" | ", lines), 1);
        }
        return nanos;
    }

    private static void readLines(InputStream in, List<String> lines, long[] rss) {
        try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                Matcher m = READY.matcher(line);
                if (m.find()) rss[0] = rssMiB(Long.parseLong(m.group(1))); // older builds do not log it: read it now
                lines.add(line);
            }
        } catch (IOException ignored) {
            // the gateway is gone
        }
    }

    /** VmRSS of a process in MiB, -1 when it cannot be read (not Linux, process gone). */
    static long rssMiB(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return -1;
    }

    private static long find(List<String> lines, Pattern p, int group) {
        for (String l : lines) {
            Matcher m = p.matcher(l);
            if (m.find()) return Long.parseLong(m.group(group));
        }
        return -1;
    }

    private static boolean awaitLine(List<String> lines, String text, Process p, long millis)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() - deadline < 0) {
            if (lines.stream().anyMatch(l -> l.contains(text))) return true;
            if (!p.isAlive())
                throw new UserError(
                        "the gateway exited with code " + p.exitValue() + ": " + String.join(" | ", lines), 1);
            Thread.sleep(5);
        }
        return false;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
