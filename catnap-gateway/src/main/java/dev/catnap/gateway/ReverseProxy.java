package dev.catnap.gateway;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards one request to a worker and streams the answer back as it arrives: each chunk the worker writes is flushed
 * to the client at once, so server-sent events keep their timing. A client that goes away closes the upstream
 * response, which cancels the worker's request.
 */
final class ReverseProxy {
    private static final Logger log = LoggerFactory.getLogger("proxy");
    /** RFC 9110 section 7.6.1 hop-by-hop fields, plus those the JDK client sets itself. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
            "content-length", "expect", "http2-settings");
    private static final int CHUNK = 16 * 1024;

    private final HttpClient http;
    private final WorkerPool pool;
    private final HealthCache healthCache;
    private final GatewayMetrics metrics;

    ReverseProxy(HttpClient http, WorkerPool pool, HealthCache healthCache, GatewayMetrics metrics) {
        this.http = http;
        this.pool = pool;
        this.healthCache = healthCache;
        this.metrics = metrics;
    }

    void handle(HttpServletRequest req, HttpServletResponse res) throws IOException, InterruptedException {
        boolean health = isHealthCheck(req);
        if (health) {
            Optional<byte[]> cached = healthCache.lookup(req.getHeader("Authorization"));
            if (cached.isPresent()) {
                res.setStatus(200);
                res.setContentType("application/json");
                res.setContentLength(cached.get().length);
                res.getOutputStream().write(cached.get());
                metrics.request(200);
                return;
            }
        }
        Lease lease;
        try {
            lease = pool.acquire(!health);
        } catch (Rejection r) {
            GatewayErrors.write(res, r.status(), r.getMessage(), r.retryAfter());
            metrics.request(r.status());
            return;
        }
        try (lease) {
            metrics.request(forward(req, res, lease, health));
        }
    }

    private static boolean isHealthCheck(HttpServletRequest req) {
        String m = req.getMethod();
        return req.getRequestURI().equals("/v1/health") && (m.equals("GET") || m.equals("POST"));
    }

    /** Returns the status the client saw. */
    private int forward(HttpServletRequest req, HttpServletResponse res, Lease lease, boolean health)
            throws IOException, InterruptedException {
        HttpRequest upstream = upstreamRequest(req, lease.port());
        HttpResponse<InputStream> response;
        try {
            response = http.send(upstream, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            String msg = "worker on port " + lease.port() + " failed before answering: " + describe(e);
            log.warn("{} {}: {}", req.getMethod(), req.getRequestURI(), msg);
            GatewayErrors.write(res, 502, msg, null);
            return 502;
        }
        res.setStatus(response.statusCode());
        for (Map.Entry<String, List<String>> h : response.headers().map().entrySet()) {
            String name = h.getKey();
            if (name.startsWith(":") || HOP_BY_HOP.contains(name.toLowerCase(Locale.ROOT))) continue;
            if (name.equalsIgnoreCase("content-type")) {
                res.setContentType(h.getValue().getFirst()); // replaces the framework's default type
                continue;
            }
            for (String v : h.getValue()) res.addHeader(name, v);
        }
        response.headers().firstValueAsLong("content-length").ifPresent(res::setContentLengthLong);
        if (response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream")) {
            res.setHeader("X-Accel-Buffering", "no");
        }
        if (health && response.statusCode() / 100 == 2) {
            byte[] body;
            try (InputStream in = response.body()) {
                body = in.readNBytes(64 * 1024 + 1);
            }
            healthCache.store(req.getHeader("Authorization"), body);
            res.getOutputStream().write(body);
            return response.statusCode();
        }
        stream(response.body(), res, lease);
        return response.statusCode();
    }

    private static void stream(InputStream body, HttpServletResponse res, Lease lease) throws IOException {
        OutputStream out = res.getOutputStream();
        byte[] buf = new byte[CHUNK];
        try (body) {
            while (true) {
                int n;
                try {
                    n = body.read(buf);
                } catch (IOException e) {
                    // the worker died mid-answer: end the client's stream abnormally rather than as if complete
                    log.warn("worker on port {} broke off its answer: {}", lease.port(), describe(e));
                    throw new UpstreamBrokeOff(e);
                }
                if (n < 0) return;
                try {
                    out.write(buf, 0, n);
                    out.flush();
                } catch (IOException clientGone) {
                    // closing the body (try-with-resources) cancels the worker's request
                    return;
                }
            }
        }
    }

    /** Thrown after the response is committed so that the server aborts the connection instead of ending it cleanly. */
    static final class UpstreamBrokeOff extends RuntimeException {
        UpstreamBrokeOff(IOException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    private static HttpRequest upstreamRequest(HttpServletRequest req, int port) throws IOException {
        String query = req.getQueryString();
        URI uri = URI.create("http://127.0.0.1:" + port + req.getRequestURI() + (query == null ? "" : "?" + query));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).method(req.getMethod(), body(req));
        Set<String> connectionTokens = connectionTokens(req);
        for (String name : Collections.list(req.getHeaderNames())) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(lower) || connectionTokens.contains(lower) || lower.startsWith("x-forwarded-")) continue;
            for (String v : Collections.list(req.getHeaders(name))) b.header(name, v);
        }
        String prior = req.getHeader("X-Forwarded-For");
        String client = req.getRemoteAddr();
        b.header("X-Forwarded-For", prior == null || prior.isBlank() ? client : prior + ", " + client);
        String proto = req.getHeader("X-Forwarded-Proto");
        b.header("X-Forwarded-Proto", proto == null || proto.isBlank() ? req.getScheme() : proto);
        String host = req.getHeader("Host");
        if (host != null) b.header("X-Forwarded-Host", host);
        return b.build();
    }

    private static HttpRequest.BodyPublisher body(HttpServletRequest req) throws IOException {
        long length = req.getContentLengthLong();
        InputStream in = req.getInputStream();
        if (length == 0) return HttpRequest.BodyPublishers.noBody();
        if (length > 0 && length <= 256 * 1024) {
            // small bodies (every editor request) go in one piece with their length
            return HttpRequest.BodyPublishers.ofByteArray(in.readNBytes((int) length));
        }
        HttpRequest.BodyPublisher streamed = HttpRequest.BodyPublishers.ofInputStream(() -> in);
        if (length > 0) return HttpRequest.BodyPublishers.fromPublisher(streamed, length);
        return req.getHeader("Transfer-Encoding") != null ? streamed : HttpRequest.BodyPublishers.noBody();
    }

    private static Set<String> connectionTokens(HttpServletRequest req) {
        Set<String> tokens = new HashSet<>();
        for (String v : Collections.list(req.getHeaders("Connection"))) {
            for (String t : v.split(",")) tokens.add(t.trim().toLowerCase(Locale.ROOT));
        }
        return tokens;
    }

    private static String describe(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
