package dev.catnap.gateway;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards one request to a worker and streams the answer back as it arrives: each chunk the worker writes is flushed
 * to the client at once, so server-sent events keep their timing. A client that goes away closes the worker
 * connection, which cancels the worker's request.
 */
final class ReverseProxy {
    private static final Logger log = LoggerFactory.getLogger("proxy");
    /** RFC 9110 section 7.6.1 hop-by-hop fields, plus those the JDK client sets itself. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
            "content-length", "expect", "http2-settings");
    private static final int CHUNK = 16 * 1024;

    private final UpstreamClient upstream;
    private final WorkerPool pool;
    private final HealthCache healthCache;
    private final GatewayMetrics metrics;

    ReverseProxy(UpstreamClient upstream, WorkerPool pool, HealthCache healthCache, GatewayMetrics metrics) {
        this.upstream = upstream;
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
            throws IOException {
        UpstreamClient.Request upstreamRequest = upstreamRequest(req);
        UpstreamClient.Response response;
        try {
            response = upstream.send(lease.port(), upstreamRequest);
        } catch (IOException e) {
            String msg = "worker on port " + lease.port() + " failed before answering: " + describe(e);
            log.warn("{} {}: {}", req.getMethod(), req.getRequestURI(), msg);
            GatewayErrors.write(res, 502, msg, null);
            return 502;
        }
        try (response) {
            res.setStatus(response.status);
            for (UpstreamClient.Header h : response.headers) {
                String lower = h.name().toLowerCase(Locale.ROOT);
                if (HOP_BY_HOP.contains(lower)) continue;
                if (lower.equals("content-type")) {
                    res.setContentType(h.value()); // replaces the framework's default type
                    if (h.value().startsWith("text/event-stream")) res.setHeader("X-Accel-Buffering", "no");
                } else {
                    res.addHeader(h.name(), h.value());
                }
            }
            String length = response.header("content-length");
            if (length != null && response.header("transfer-encoding") == null && !req.getMethod().equals("HEAD")) {
                res.setContentLengthLong(Long.parseLong(length.strip()));
            }
            if (health && response.status / 100 == 2) {
                byte[] body = response.body().readNBytes(64 * 1024 + 1);
                if (response.body().read() < 0) response.completed();
                healthCache.store(req.getHeader("Authorization"), body);
                res.getOutputStream().write(body);
            } else if (stream(response.body(), res, lease)) {
                response.completed();
            }
            return response.status;
        }
    }

    /** Relays the body; false when the client went away first (the caller then drops the worker connection). */
    private static boolean stream(InputStream body, HttpServletResponse res, Lease lease) throws IOException {
        OutputStream out = res.getOutputStream();
        byte[] buf = new byte[CHUNK];
        while (true) {
            int n;
            try {
                n = body.read(buf);
            } catch (IOException e) {
                // the worker died mid-answer: end the client's stream abnormally rather than as if complete
                log.warn("worker on port {} broke off its answer: {}", lease.port(), describe(e));
                throw new UpstreamBrokeOff(e);
            }
            if (n < 0) return true;
            try {
                out.write(buf, 0, n);
                out.flush();
            } catch (IOException clientGone) {
                return false;
            }
        }
    }

    /** Thrown after the response is committed so that the server aborts the connection instead of ending it cleanly. */
    static final class UpstreamBrokeOff extends RuntimeException {
        UpstreamBrokeOff(IOException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    private static UpstreamClient.Request upstreamRequest(HttpServletRequest req) throws IOException {
        String query = req.getQueryString();
        String target = req.getRequestURI() + (query == null ? "" : "?" + query);
        List<UpstreamClient.Header> headers = new ArrayList<>();
        Set<String> connectionTokens = connectionTokens(req);
        for (String name : Collections.list(req.getHeaderNames())) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(lower) || connectionTokens.contains(lower) || lower.startsWith("x-forwarded-")) continue;
            for (String v : Collections.list(req.getHeaders(name))) headers.add(new UpstreamClient.Header(name, v));
        }
        String prior = req.getHeader("X-Forwarded-For");
        String client = req.getRemoteAddr();
        headers.add(new UpstreamClient.Header("X-Forwarded-For", prior == null || prior.isBlank() ? client : prior + ", " + client));
        String proto = req.getHeader("X-Forwarded-Proto");
        headers.add(new UpstreamClient.Header("X-Forwarded-Proto", proto == null || proto.isBlank() ? req.getScheme() : proto));
        String host = req.getHeader("Host");
        if (host != null) headers.add(new UpstreamClient.Header("X-Forwarded-Host", host));

        long length = req.getContentLengthLong();
        boolean chunked = req.getHeader("Transfer-Encoding") != null;
        if (length > 0 && length <= 256 * 1024) {
            // small bodies (every editor request) are read whole: the request can then be retried on a fresh connection
            return new UpstreamClient.Request(req.getMethod(), target, headers, req.getInputStream().readNBytes((int) length), null, -1);
        }
        if (length > 0 || chunked) {
            return new UpstreamClient.Request(req.getMethod(), target, headers, null, req.getInputStream(), length);
        }
        return new UpstreamClient.Request(req.getMethod(), target, headers, null, null, -1);
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
