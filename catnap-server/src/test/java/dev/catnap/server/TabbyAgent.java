package dev.catnap.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Tabby's real editor client, tabby-agent 1.5.0 (npm), run as a child process in either of its stdio protocols:
 * LSP ({@code --lsp --stdio}, Content-Length framed JSON-RPC) or its JSON-lines agent protocol
 * ({@code [id, {"func": ..., "args": [...]}]}). Installed by {@code .ci/run} into {@code .tools/tabby-agent}.
 */
final class TabbyAgent implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Process process;
    private final OutputStream in;
    private final boolean lsp;
    private final AtomicInteger ids = new AtomicInteger(1);
    private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final StringBuilder stderr = new StringBuilder();

    /** The agent's cli.js, or empty (with the reason) when node or the package is missing. */
    static Optional<List<String>> command(List<String> reasons) {
        Path repo = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        Path cli = Optional.ofNullable(System.getenv("CATNAP_TABBY_AGENT"))
                .map(Path::of)
                .orElse(repo.resolve(".tools/tabby-agent/node_modules/tabby-agent/dist/cli.js"));
        if (!Files.isRegularFile(cli)) {
            reasons.add(
                    "tabby-agent not installed at " + cli
                            + " (.ci/run installs it: npm install --no-package-lock --prefix .tools/tabby-agent tabby-agent@1.5.0)");
            return Optional.empty();
        }
        try {
            Process p = new ProcessBuilder("node", "--version")
                    .redirectErrorStream(true)
                    .start();
            if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("node --version failed");
        } catch (IOException | InterruptedException e) {
            reasons.add("node is not runnable: " + e.getMessage());
            return Optional.empty();
        }
        return Optional.of(List.of("node", cli.toString()));
    }

    TabbyAgent(List<String> command, Path home, boolean lsp) throws IOException {
        this.lsp = lsp;
        var cmd = new java.util.ArrayList<>(command);
        if (lsp) cmd.addAll(List.of("--lsp", "--stdio"));
        var pb = new ProcessBuilder(cmd).directory(home.toFile());
        pb.environment().put("HOME", home.toString());
        pb.environment().put("USERPROFILE", home.toString());
        this.process = pb.start();
        this.in = process.getOutputStream();
        Thread.ofVirtual().start(() -> readLoop(new BufferedInputStream(process.getInputStream())));
        Thread.ofVirtual().start(() -> {
            try (var err = process.getErrorStream()) {
                byte[] buf = new byte[4096];
                for (int n; (n = err.read(buf)) > 0; ) {
                    synchronized (stderr) {
                        if (stderr.length() < 20_000) stderr.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    }
                }
            } catch (IOException e) {
                // process ended
            }
        });
    }

    String stderr() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    private void readLoop(InputStream out) {
        try {
            while (true) {
                String message = lsp ? readFrame(out) : readLine(out);
                if (message == null) return;
                if (message.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(message);
                } catch (IOException e) {
                    continue; // the agent's own log noise
                }
                if (lsp) {
                    if (node.has("id") && (node.has("result") || node.has("error")) && !node.has("method")) {
                        var f = pending.remove(node.get("id").asInt());
                        if (f != null) f.complete(node);
                    }
                } else if (node.isArray() && node.size() == 2 && node.get(0).asInt() != 0) {
                    var f = pending.remove(node.get(0).asInt());
                    if (f != null) f.complete(node.get(1));
                }
            }
        } catch (IOException e) {
            pending.values().forEach(f -> f.completeExceptionally(e));
        }
    }

    private static String readLine(InputStream s) throws IOException {
        var buf = new ByteArrayOutputStream();
        for (int c; (c = s.read()) != -1; ) {
            if (c == '\n') return buf.toString(StandardCharsets.UTF_8);
            buf.write(c);
        }
        return buf.size() == 0 ? null : buf.toString(StandardCharsets.UTF_8);
    }

    private static String readFrame(InputStream s) throws IOException {
        int length = -1;
        while (true) {
            String header = readLine(s);
            if (header == null) return null;
            header = header.strip();
            if (header.isEmpty()) break;
            if (header.toLowerCase().startsWith("content-length:"))
                length = Integer.parseInt(header.substring(15).strip());
        }
        if (length < 0) return "";
        return new String(s.readNBytes(length), StandardCharsets.UTF_8);
    }

    /** JSON-lines protocol: calls {@code func(args...)} and waits for its result. */
    JsonNode call(String func, Object... args) throws Exception {
        int id = ids.getAndIncrement();
        var f = new CompletableFuture<JsonNode>();
        pending.put(id, f);
        send(JSON.writeValueAsString(List.of(id, Map.of("func", func, "args", List.of(args)))) + "\n");
        return f.get(60, TimeUnit.SECONDS);
    }

    /** LSP: a request; returns the whole response message. */
    JsonNode request(String method, Object params) throws Exception {
        int id = ids.getAndIncrement();
        var f = new CompletableFuture<JsonNode>();
        pending.put(id, f);
        frame(Map.of("jsonrpc", "2.0", "id", id, "method", method, "params", params));
        return f.get(60, TimeUnit.SECONDS);
    }

    void notify(String method, Object params) throws IOException {
        frame(Map.of("jsonrpc", "2.0", "method", method, "params", params));
    }

    private void frame(Object message) throws IOException {
        byte[] body = JSON.writeValueAsBytes(message);
        synchronized (in) {
            in.write(("Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            in.write(body);
            in.flush();
        }
    }

    private void send(String line) throws IOException {
        synchronized (in) {
            in.write(line.getBytes(StandardCharsets.UTF_8));
            in.flush();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            in.close();
        } catch (IOException e) {
            // already gone
        }
        if (!process.waitFor(3, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(3, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(3, TimeUnit.SECONDS);
        }
    }
}
