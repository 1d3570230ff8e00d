package dev.catnap.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The soak and chaos run: a gateway process with {@link TestWorker} workers, ten simulated editors with Tabby's request
 * mix, random SIGKILLs of workers, pauses long enough for scale to zero, and a SIGTERM at the end. Bounded in time,
 * loopback only. Run it with {@code scripts/soak SECONDS} or {@code java ... dev.catnap.gateway.Soak SECONDS DIR};
 * {@link SoakTest} runs the 60-second version.
 */
public final class Soak {
    static final String TOKEN = "soak-token";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int HUNG_MS = 30_000;
    private static final Duration SCALEDOWN = Duration.ofSeconds(3);
    private static final Duration ACTIVE = Duration.ofSeconds(20);
    private static final Duration PAUSE = Duration.ofSeconds(7); // scale-down window + reaper tick + stop, with margin
    private static final Duration FINAL_ACTIVE = Duration.ofSeconds(3);
    private static final int EDITORS = 10;

    /** One request as the client saw it. */
    record Outcome(String what, String kind, int status, long startNanos, long endNanos) {}

    /** The figures of one run, and whether each must-be-zero figure was. */
    record Report(
            Duration length,
            Map<String, Integer> byOutcome,
            int hung,
            int lost,
            int unexplained5xx,
            int kills,
            int explainedByKill,
            double coldStarts,
            int gatewayExit,
            long[] start,
            long[] end,
            int orphans,
            int pausesWithWorkers,
            List<Long> threadSeries,
            Map<String, Integer> threadsAdded,
            List<String> problems) {
        boolean passed() {
            return problems.isEmpty();
        }

        @Override
        public String toString() {
            return String.join(
                    "\n",
                    "soak: " + length.toSeconds() + " s, " + EDITORS + " editors, "
                            + Runtime.getRuntime().availableProcessors() + " cores",
                    "requests by outcome: " + byOutcome,
                    "hung requests: " + hung,
                    "requests lost without an answer: " + lost,
                    "worker kills (SIGKILL): " + kills
                            + "; failures explained by a kill (in flight on the killed worker): " + explainedByKill,
                    "5xx not explained by a kill: " + unexplained5xx,
                    "cold starts: " + (long) coldStarts,
                    "pauses that ended with a worker still running: " + pausesWithWorkers,
                    "gateway threads start/end: " + start[0] + " / " + end[0] + " (at each pause: " + threadSeries
                            + "; by name, end minus start: " + threadsAdded + ")",
                    "gateway file descriptors start/end: " + start[1] + " / " + end[1],
                    "gateway RSS MiB start/end: " + start[2] / 1024 + " / " + end[2] / 1024,
                    "gateway CPU seconds used (at the last sample): " + end[3] / 100.0,
                    "gateway exit code after SIGTERM: " + gatewayExit,
                    "orphan processes after the stop: " + orphans,
                    problems.isEmpty() ? "PASS" : "FAIL: " + String.join("; ", problems));
        }
    }

    public static void main(String[] args) throws Exception {
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 60;
        Path dir = args.length > 1 ? Path.of(args[1]) : Files.createTempDirectory("catnap-soak");
        Report r = run(Duration.ofSeconds(seconds), dir);
        System.out.println(r);
        System.exit(r.passed() ? 0 : 1);
    }

    static Report run(Duration length, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path workerEvents = dir.resolve("worker-events");
        int cycles = (int) Math.max(
                2, Math.round((double) length.toMillis() / ACTIVE.plus(PAUSE).toMillis()));
        List<String> cmd = TestGateways.javaCommand(
                SoakGatewayMain.class.getName(),
                dir.resolve("state").toString(),
                TOKEN,
                Long.toString(SCALEDOWN.toMillis()),
                "3",
                "4",
                "delay=300",
                "events=" + workerEvents);
        cmd.add(1, "-Xmx128m");
        Path log = dir.resolve("gateway.log");
        Process gateway = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        int port = awaitPort(gateway, log);
        Soak soak = new Soak(port);
        long t0 = System.nanoTime();
        long cycleNanos = ACTIVE.plus(PAUSE).toNanos();
        long trafficEnd = t0 + cycles * cycleNanos + FINAL_ACTIVE.toNanos();
        soak.activeUntil = n -> n - t0 >= cycles * cycleNanos || (n - t0) % cycleNanos < ACTIVE.toNanos();

        List<long[]> samples = new CopyOnWriteArrayList<>();
        List<Map<String, Integer>> threadNames = soak.threadSamples;
        int pausesWithWorkers = 0;
        double coldStarts;
        Set<Long> descendants = ConcurrentHashMap.newKeySet();
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < EDITORS; i++) {
                long seed = 1000 + i;
                ex.submit(() -> soak.editor(new Random(seed), trafficEnd));
            }
            ex.submit(() -> soak.intruder(trafficEnd));
            ex.submit(() -> soak.killer(new Random(7), trafficEnd));
            // at the end of each pause: no worker may be left, and the gateway's resources are sampled there
            for (int c = 1; c <= cycles; c++) {
                sleepUntil(t0 + c * cycleNanos - TimeUnit.MILLISECONDS.toNanos(400));
                gateway.toHandle().descendants().forEach(p -> descendants.add(p.pid()));
                JsonNode status = soak.status();
                if (status == null || !status.get("workers").isEmpty()) pausesWithWorkers++;
                samples.add(proc(gateway.pid()));
                threadNames.add(threadNames(gateway.pid()));
            }
            threadDump(gateway.pid(), dir.resolve("gateway-threads-end.txt"));
            sleepUntil(trafficEnd - TimeUnit.MILLISECONDS.toNanos(200));
            gateway.toHandle().descendants().forEach(p -> descendants.add(p.pid()));
            coldStarts = soak.metric("catnap_gateway_cold_starts_total");
            soak.stopAt = System.nanoTime();
            gateway.destroy(); // SIGTERM, with editors still sending
            soak.stopping.set(true);
        }
        boolean exited = gateway.waitFor(60, TimeUnit.SECONDS);
        int exit = exited ? gateway.exitValue() : -1;
        if (!exited) gateway.destroyForcibly();
        for (String line : Files.exists(workerEvents) ? Files.readAllLines(workerEvents) : List.<String>of()) {
            if (line.startsWith("started "))
                descendants.add(Long.parseLong(line.substring(8).trim()));
        }
        int orphans = 0;
        long orphanDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (long pid : descendants) {
            while (alive(pid) && System.nanoTime() < orphanDeadline) Thread.sleep(100);
            if (alive(pid)) orphans++;
        }
        return soak.report(length, samples, coldStarts, exit, orphans, pausesWithWorkers);
    }

    private final int port;
    private volatile java.util.function.LongPredicate activeUntil;
    private final List<Outcome> outcomes = new CopyOnWriteArrayList<>();
    private final List<Long> kills = new CopyOnWriteArrayList<>();
    private final List<Map<String, Integer>> threadSamples = new CopyOnWriteArrayList<>();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private volatile long stopAt = Long.MAX_VALUE;

    private Soak(int port) {
        this.port = port;
    }

    private boolean active() {
        return activeUntil.test(System.nanoTime());
    }

    /** One editor: completions while typing (half cancelled by the next keystroke), events, a chat now and then, health every 60 s. */
    private void editor(Random rnd, long end) {
        long nextHealth = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(rnd.nextInt(60_000));
        String body = "{\"language\":\"python\",\"segments\":{\"prefix\":\"" + "def f(x):\\n    ".repeat(100)
                + "\",\"suffix\":\"\\n\"}}";
        while (System.nanoTime() < end && !stopping.get()) {
            if (!active()) {
                sleep(200);
                continue;
            }
            if (System.nanoTime() >= nextHealth) {
                record("health", "GET", "/v1/health", TOKEN, null, 0);
                nextHealth += TimeUnit.SECONDS.toNanos(60);
            }
            if (rnd.nextInt(100) < 3) {
                record(
                        "chat",
                        "POST",
                        "/v1/chat/completions",
                        TOKEN,
                        "{\"model\":\"\",\"messages\":[{\"role\":\"user\",\"content\":\"explain\"}]}",
                        0);
                continue;
            }
            boolean cancel = rnd.nextBoolean();
            Outcome o =
                    record("completion", "POST", "/v1/completions", TOKEN, body, cancel ? 50 + rnd.nextInt(200) : 0);
            if (o.kind.equals("ok") && rnd.nextInt(100) < 30) {
                record(
                        "event",
                        "POST",
                        "/v1/events",
                        TOKEN,
                        "{\"type\":\"view\",\"completion_id\":\"cmpl-1\",\"choice_index\":0}",
                        0);
            }
            sleep(cancel ? rnd.nextInt(100) : 600 + rnd.nextInt(800));
        }
    }

    /** Someone without the token, knocking every few seconds, in pauses too: must get 401 and wake nothing. */
    private void intruder(long end) {
        while (System.nanoTime() < end && !stopping.get()) {
            record("intruder", "GET", "/v1/health", null, null, 0);
            record("intruder", "POST", "/v1/completions", "wrong", "{}", 0);
            sleep(2000);
        }
    }

    /** SIGKILLs a random ready worker every 6 to 15 s of traffic. */
    private void killer(Random rnd, long end) {
        while (System.nanoTime() < end - TimeUnit.SECONDS.toNanos(2) && !stopping.get()) {
            long at = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(6000 + rnd.nextInt(9000));
            while (System.nanoTime() < at && !stopping.get()) sleep(100);
            if (!active() || stopping.get() || System.nanoTime() >= end - TimeUnit.SECONDS.toNanos(2)) continue;
            JsonNode status = status();
            if (status == null) continue;
            List<Long> ready = new ArrayList<>();
            for (JsonNode w : status.get("workers"))
                if (w.get("state").asText().equals("ready"))
                    ready.add(w.get("pid").asLong());
            if (ready.isEmpty()) continue;
            long pid = ready.get(rnd.nextInt(ready.size()));
            kills.add(System.nanoTime());
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private Outcome record(String what, String method, String path, String token, String body, int cancelAfterMs) {
        long start = System.nanoTime();
        String[] result = exchange(method, path, token, body, cancelAfterMs);
        Outcome o = new Outcome(what, result[0], Integer.parseInt(result[1]), start, System.nanoTime());
        outcomes.add(o);
        return o;
    }

    /** {kind, status}: kind is ok, cancelled, status, broken, hung or refused. */
    private String[] exchange(String method, String path, String token, String body, int cancelAfterMs) {
        try (Socket s = new Socket()) {
            try {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            } catch (IOException e) {
                return new String[] {"refused", "0"};
            }
            long deadline =
                    System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(cancelAfterMs > 0 ? cancelAfterMs : HUNG_MS);
            s.setSoTimeout(cancelAfterMs > 0 ? cancelAfterMs : HUNG_MS);
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            StringBuilder head =
                    new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
            if (token != null)
                head.append("Authorization: Bearer ").append(token).append("\r\n");
            if (body != null)
                head.append("Content-Type: application/json\r\nContent-Length: ")
                        .append(b.length)
                        .append("\r\n");
            head.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(b);
            out.flush();
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            try {
                int status = readResponse(in, deadline, s);
                return new String[] {status / 100 == 2 ? "ok" : "status", Integer.toString(status)};
            } catch (SocketTimeoutException e) {
                return new String[] {cancelAfterMs > 0 ? "cancelled" : "hung", "0"};
            } catch (EOFException e) {
                return new String[] {"broken", "0"};
            }
        } catch (IOException e) {
            return new String[] {"broken", "0"};
        }
    }

    /** Reads a whole response; EOFException if it ends early. */
    private static int readResponse(InputStream in, long deadline, Socket s) throws IOException {
        String statusLine = line(in);
        if (!statusLine.startsWith("HTTP/1.1 ")) throw new EOFException("no status line: " + statusLine);
        int status = Integer.parseInt(statusLine.substring(9, 12));
        long length = -1;
        boolean chunked = false;
        for (String h; !(h = line(in)).isEmpty(); ) {
            String lower = h.toLowerCase();
            if (lower.startsWith("content-length:"))
                length = Long.parseLong(h.substring(15).trim());
            if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) chunked = true;
        }
        if (chunked) {
            while (true) {
                long n = Long.parseLong(line(in).split(";")[0].trim(), 16);
                if (n == 0) {
                    while (!line(in).isEmpty()) {}
                    return status;
                }
                skip(in, n);
                line(in);
            }
        }
        if (length >= 0) {
            skip(in, length);
            return status;
        }
        in.transferTo(OutputStream.nullOutputStream());
        return status;
    }

    private static void skip(InputStream in, long n) throws IOException {
        byte[] buf = new byte[8192];
        while (n > 0) {
            int r = in.read(buf, 0, (int) Math.min(buf.length, n));
            if (r < 0) throw new EOFException("body cut short");
            n -= r;
        }
    }

    private static String line(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) throw new EOFException("connection closed mid-line");
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    private JsonNode status() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream()
                    .write(("GET /gateway/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer "
                                    + TOKEN + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            String r = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return JSON.readTree(r.substring(r.indexOf("\r\n\r\n") + 4));
        } catch (IOException e) {
            return null;
        }
    }

    private double metric(String name) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream()
                    .write(("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + TOKEN
                                    + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            for (String line : new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        } catch (IOException e) {
            // reported as NaN
        }
        return Double.NaN;
    }

    private Report report(
            Duration length, List<long[]> samples, double coldStarts, int exit, int orphans, int pausesWithWorkers) {
        Map<String, Integer> by = new TreeMap<>();
        int hung = 0, lost = 0, unexplained = 0, explained = 0;
        List<String> problems = new ArrayList<>();
        for (Outcome o : outcomes) {
            String key = o.what + " " + (o.kind.equals("status") ? Integer.toString(o.status) : o.kind);
            boolean afterStop = o.endNanos >= stopAt;
            boolean byKill =
                    kills.stream().anyMatch(k -> o.startNanos <= k + TimeUnit.SECONDS.toNanos(1) && o.endNanos >= k);
            boolean failed = o.kind.equals("broken") || (o.kind.equals("status") && o.status >= 500);
            if (failed && byKill) {
                explained++;
                key += " (kill)";
            } else if (afterStop && (o.kind.equals("refused") || o.status == 503)) {
                key += " (after SIGTERM)";
            } else if (o.kind.equals("hung")) {
                hung++;
            } else if (o.kind.equals("broken") || o.kind.equals("refused")) {
                lost++;
            } else if (o.kind.equals("status") && o.status >= 500) {
                unexplained++;
            } else if (o.what.equals("intruder") ? o.status != 401 : o.kind.equals("status")) {
                problems.add("unexpected answer " + key);
            }
            by.merge(key, 1, Integer::sum);
        }
        long[] start = samples.getFirst();
        long[] end = samples.getLast();
        if (hung > 0) problems.add(hung + " hung requests");
        if (lost > 0) problems.add(lost + " requests lost without an answer");
        if (unexplained > 0) problems.add(unexplained + " 5xx answers not explained by a kill");
        if (orphans > 0) problems.add(orphans + " orphan processes");
        if (exit != 0) problems.add("gateway exited with " + exit + " after SIGTERM");
        if (pausesWithWorkers > 0)
            problems.add(pausesWithWorkers
                    + " pauses ended with a worker running (no scale to zero, or an intruder woke one)");
        if (end[0] > start[0] + 10) problems.add("threads grew from " + start[0] + " to " + end[0]);
        if (end[1] > start[1] + 20) problems.add("file descriptors grew from " + start[1] + " to " + end[1]);
        if (!(coldStarts >= 2)) problems.add("expected a cold start per cycle, saw " + coldStarts);
        if (by.keySet().stream().noneMatch(k -> k.startsWith("completion cancelled")))
            problems.add("no completion was cancelled");
        List<Long> series = samples.stream().map(x -> x[0]).toList();
        Map<String, Integer> added = new TreeMap<>();
        if (!threadSamples.isEmpty()) {
            threadSamples.getLast().forEach((k, v) -> added.merge(k, v, Integer::sum));
            threadSamples.getFirst().forEach((k, v) -> added.merge(k, -v, Integer::sum));
            added.values().removeIf(v -> v == 0);
        }
        return new Report(
                length,
                by,
                hung,
                lost,
                unexplained,
                kills.size(),
                explained,
                coldStarts,
                exit,
                start,
                end,
                orphans,
                pausesWithWorkers,
                series,
                added,
                Collections.unmodifiableList(problems));
    }

    /** {threads, open file descriptors, RSS KiB} of a process, from /proc. */
    static long[] proc(long pid) throws IOException {
        long threads = -1, rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:"))
                threads = Long.parseLong(line.substring(8).trim());
            if (line.startsWith("VmRSS:"))
                rss = Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
        }
        long fds;
        try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            fds = s.count();
        }
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long cpuTicks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime + stime, fields 14 and 15
        return new long[] {threads, fds, rss, cpuTicks};
    }

    /** The gateway's thread dump at the last sample, kept next to its log for a look at what its threads do. */
    private static void threadDump(long pid, Path to) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.print")
                    .redirectErrorStream(true)
                    .redirectOutput(to.toFile())
                    .start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (IOException | InterruptedException e) {
            // a diagnostic only
        }
    }

    /** Thread names of a process (digits folded to #, so that pools count as one name), and how many of each. */
    static Map<String, Integer> threadNames(long pid) {
        Map<String, Integer> names = new TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    names.merge(Files.readString(t.resolve("comm")).strip().replaceAll("\\d+", "#"), 1, Integer::sum);
                } catch (IOException gone) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
        return names;
    }

    private static int awaitPort(Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(Files.newInputStream(log), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; )
                    if (line.startsWith("PORT "))
                        return Integer.parseInt(line.substring(5).trim());
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new IllegalStateException("soak gateway did not start: " + Files.readString(log));
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left = nanos - System.nanoTime();
        if (left > 0) TimeUnit.NANOSECONDS.sleep(left);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
