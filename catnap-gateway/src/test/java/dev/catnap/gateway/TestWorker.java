package dev.catnap.gateway;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker for the gateway's tests, run as its own process: {@code TestWorker PORT [key=value ...]}.
 * Options: delay=MS before listening; fail=CODE exits at once with that code after two stderr lines; never (never
 * listens); ignoreTerm; events=FILE (appends one line per event: started, cancelled, term).
 */
public final class TestWorker {
    private final Map<String, String> opts;
    private final AtomicInteger current = new AtomicInteger();
    private final AtomicInteger max = new AtomicInteger();
    private final AtomicInteger count = new AtomicInteger();

    private TestWorker(Map<String, String> opts) {
        this.opts = opts;
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            opts.put(kv[0], kv.length > 1 ? kv[1] : "");
        }
        new TestWorker(opts).run(port);
    }

    private void event(String line) {
        String file = opts.get("events");
        if (file == null) return;
        try {
            Files.writeString(Path.of(file), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void run(int port) throws Exception {
        long pid = ProcessHandle.current().pid();
        event("started " + pid);
        if (opts.containsKey("ignoreTerm")) {
            sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> event("term-ignored " + pid));
        } else {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> event("term " + pid)));
        }
        if (opts.containsKey("fail")) {
            System.err.println("loading model: boom");
            System.err.println("fatal: cannot start (test)");
            System.err.flush();
            Runtime.getRuntime().halt(Integer.parseInt(opts.get("fail")));
        }
        if (opts.containsKey("never")) {
            Thread.sleep(Long.MAX_VALUE);
        }
        Thread.sleep(Long.parseLong(opts.getOrDefault("delay", "0")));
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 200);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", ex -> {
            count.incrementAndGet();
            int now = current.incrementAndGet();
            max.accumulateAndGet(now, Math::max);
            try {
                handle(ex, pid);
            } catch (Exception e) {
                event("error " + e);
            } finally {
                current.decrementAndGet();
                ex.close();
            }
        });
        server.start();
        System.err.println("test worker " + pid + " listening on " + port);
    }

    private void handle(HttpExchange ex, long pid) throws Exception {
        URI uri = ex.getRequestURI();
        String path = uri.getRawPath();
        Map<String, String> q = query(uri.getRawQuery());
        switch (path) {
            case "/v1/health" ->
                json(
                        ex,
                        200,
                        "{\"model\":\"test\",\"device\":\"cpu\",\"version\":{\"git_describe\":\"t\"},\"pid\":" + pid
                                + "}");
            case "/pid" -> json(ex, 200, "{\"pid\":" + pid + "}");
            case "/stats" -> json(ex, 200, "{\"max_concurrent\":" + max.get() + ",\"count\":" + count.get() + "}");
            case "/slow" -> {
                Thread.sleep(Long.parseLong(q.getOrDefault("ms", "500")));
                json(ex, 200, "{\"pid\":" + pid + "}");
            }
            case "/sse" ->
                sse(ex, Integer.parseInt(q.getOrDefault("n", "5")), Long.parseLong(q.getOrDefault("interval", "100")));
            case "/crash" -> {
                Thread.sleep(100);
                Runtime.getRuntime().halt(3);
            }
            case "/crash-stream" -> {
                ex.getResponseHeaders().set("Content-Type", "text/event-stream");
                ex.sendResponseHeaders(200, 0);
                ex.getResponseBody().write("data: first\n\n".getBytes(StandardCharsets.UTF_8));
                ex.getResponseBody().flush();
                Thread.sleep(200);
                Runtime.getRuntime().halt(3);
            }
            // Tabby's routes as the soak uses them: a completion takes 80-300 ms, a chat streams, events are stored
            case "/v1/completions" -> {
                ex.getRequestBody().readAllBytes();
                Thread.sleep(
                        80 + java.util.concurrent.ThreadLocalRandom.current().nextInt(220));
                json(
                        ex,
                        200,
                        "{\"id\":\"cmpl-" + count.get() + "\",\"choices\":[{\"index\":0,\"text\":\"x\"}],\"pid\":" + pid
                                + "}");
            }
            case "/v1/chat/completions" -> {
                ex.getRequestBody().readAllBytes();
                sse(ex, 20, 40);
            }
            case "/v1/events" -> {
                ex.getRequestBody().readAllBytes();
                ex.sendResponseHeaders(200, -1);
            }
            case "/flood-stderr" -> {
                // a worker gone wrong: megabytes on stderr, much of it without a newline
                int mb = Integer.parseInt(q.getOrDefault("mb", "50"));
                byte[] line = new byte[1 << 20];
                java.util.Arrays.fill(line, (byte) 'e');
                for (int i = 0; i < mb; i++) {
                    if (i % 10 == 9) line[line.length - 1] = '\n';
                    System.err.write(line);
                    line[line.length - 1] = 'e';
                }
                System.err.flush();
                json(ex, 200, "{\"flooded_mb\":" + mb + "}");
            }
            case "/big" -> {
                int n = Integer.parseInt(q.getOrDefault("bytes", "1000000"));
                byte[] b = new byte[n];
                for (int i = 0; i < n; i++) b[i] = (byte) ('a' + i % 26);
                ex.sendResponseHeaders(200, n);
                ex.getResponseBody().write(b);
            }
            default -> echo(ex);
        }
    }

    private static void json(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    private void sse(HttpExchange ex, int n, long intervalMs) throws Exception {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            for (int i = 0; i < n; i++) {
                out.write(("data: " + i + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(intervalMs);
            }
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            event("completed " + ex.getRequestURI());
        } catch (IOException e) {
            event("cancelled " + ex.getRequestURI());
        }
    }

    private static void echo(HttpExchange ex) throws IOException {
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"method\":").append(quote(ex.getRequestMethod()));
        sb.append(",\"path\":").append(quote(ex.getRequestURI().getRawPath()));
        sb.append(",\"query\":").append(quote(String.valueOf(ex.getRequestURI().getRawQuery())));
        sb.append(",\"headers\":{");
        Map<String, String> headers = new TreeMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), String.join(",", v)));
        boolean first = true;
        for (var h : headers.entrySet()) {
            if (!first) sb.append(',');
            first = false;
            sb.append(quote(h.getKey())).append(':').append(quote(h.getValue()));
        }
        sb.append("},\"body\":").append(quote(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
        sb.append('}');
        ex.getResponseHeaders().set("X-Worker", "test");
        json(ex, 200, sb.toString());
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null) return q;
        for (String p : raw.split("&")) {
            String[] kv = p.split("=", 2);
            q.put(kv[0], kv.length > 1 ? kv[1] : "");
        }
        return q;
    }
}
