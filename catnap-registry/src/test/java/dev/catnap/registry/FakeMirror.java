package dev.catnap.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A real HTTP server on loopback serving a registry and files, with Range support and injectable faults. */
final class FakeMirror implements AutoCloseable {
    /** What a path does to the next {@code times} requests (then it serves normally). */
    sealed interface Fault {
        record Status(int code) implements Fault {}
        /** Sends the full Content-Length header, then only {@code bytes} bytes, then closes the connection. */
        record DropAfter(int bytes) implements Fault {}
        /** Sends {@code bytes} bytes, then stays silent for {@code millis}. */
        record StallAfter(int bytes, long millis) implements Fault {}
    }

    record Hit(String path, String range) {}

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");
    private final HttpServer server;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();
    private final Map<String, Fault> faults = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> faultsLeft = new ConcurrentHashMap<>();
    private final List<Hit> hits = new CopyOnWriteArrayList<>();
    private volatile boolean rangeSupported = true;
    private volatile long delayPerChunkMillis = 0;

    FakeMirror() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    int port() {
        return server.getAddress().getPort();
    }

    FakeMirror serve(String path, byte[] content) {
        files.put(path, content);
        return this;
    }

    FakeMirror serve(String path, String content) {
        return serve(path, content.getBytes(StandardCharsets.UTF_8));
    }

    FakeMirror fault(String path, Fault fault, int times) {
        faults.put(path, fault);
        faultsLeft.put(path, new AtomicInteger(times));
        return this;
    }

    FakeMirror withoutRangeSupport() {
        rangeSupported = false;
        return this;
    }

    FakeMirror slow(long millisPerChunk) {
        delayPerChunkMillis = millisPerChunk;
        return this;
    }

    List<Hit> hits() {
        return List.copyOf(hits);
    }

    long hitsOn(String path) {
        return hits.stream().filter(h -> h.path().equals(path)).count();
    }

    private void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        hits.add(new Hit(path, range));
        try (ex) {
            Fault fault = faults.get(path);
            if (fault != null && faultsLeft.get(path).getAndDecrement() <= 0) fault = null;
            if (fault instanceof Fault.Status(int code)) {
                ex.sendResponseHeaders(code, -1);
                return;
            }
            byte[] content = files.get(path);
            if (content == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            int from = 0;
            Matcher m = range == null ? null : RANGE.matcher(range);
            if (rangeSupported && m != null && m.matches()) {
                from = Integer.parseInt(m.group(1));
                if (from >= content.length) {
                    ex.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
                    ex.sendResponseHeaders(416, -1);
                    return;
                }
                ex.getResponseHeaders()
                        .set("Content-Range", "bytes " + from + "-" + (content.length - 1) + "/" + content.length);
                ex.sendResponseHeaders(206, content.length - from);
            } else {
                ex.sendResponseHeaders(200, content.length);
            }
            int limit = content.length;
            if (fault instanceof Fault.DropAfter(int bytes)) limit = Math.min(content.length, from + bytes);
            if (fault instanceof Fault.StallAfter(int bytes, long ignored))
                limit = Math.min(content.length, from + bytes);
            OutputStream out = ex.getResponseBody();
            int chunk = 16 * 1024;
            for (int pos = from; pos < limit; pos += chunk) {
                out.write(content, pos, Math.min(chunk, limit - pos));
                out.flush();
                if (delayPerChunkMillis > 0) sleep(delayPerChunkMillis);
            }
            if (fault instanceof Fault.StallAfter(int ignored, long millis)) sleep(millis);
            if (fault instanceof Fault.DropAfter) {
                out.flush();
                sleep(30); // let the bytes reach the client before the connection goes
            }
            // DropAfter: closing a fixed-length body early makes the server drop the connection
        } catch (IOException e) {
            // the client went away or we dropped it on purpose
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
