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
    private static final Set<String> HOP_BY_HOP = Set.of(
            "connection",
            "keep-alive",
            "proxy-authenticate",
            "proxy-authorization",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "host",
            "content-length",
            "expect",
            "http2-settings");

    private static final int CHUNK = 16 * 1024;

    private final UpstreamClient upstream;
    private final WorkerPool pool;
    private final HealthCache healthCache;
    /** Bodies up to this size are read whole before a worker slot is taken, and can be sent again on a retry. */
    static final int REPLAY_BUFFER = 256 * 1024;

    private final GatewayMetrics metrics;
    private final FrontDoor frontDoor;
    private final SlowClientGuard guard;

    ReverseProxy(
            UpstreamClient upstream,
            WorkerPool pool,
            HealthCache healthCache,
            GatewayMetrics metrics,
            FrontDoor frontDoor,
            SlowClientGuard guard) {
        this.upstream = upstream;
        this.pool = pool;
        this.healthCache = healthCache;
        this.metrics = metrics;
        this.frontDoor = frontDoor;
        this.guard = guard;
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
        // The body is read before a worker slot is taken: a client that trickles its body holds no slot meanwhile.
        UpstreamClient.Request upstreamRequest;
        try {
            upstreamRequest = upstreamRequest(req);
        } catch (BodyTooLarge e) {
            refuse(res, 413, "payload_too_large", e.getMessage());
            return;
        } catch (ClientBodyFailed e) {
            log.info("{} {}: {}", req.getMethod(), req.getRequestURI(), e.getMessage());
            refuse(res, 400, "invalid_request_error", e.getMessage());
            return;
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
            metrics.request(forward(req, res, lease, health, upstreamRequest));
        }
    }

    private void refuse(HttpServletResponse res, int status, String type, String message) throws IOException {
        GatewayErrors.writeRefusal(res, status, type, message);
        metrics.request(status);
    }

    private static boolean isHealthCheck(HttpServletRequest req) {
        String m = req.getMethod();
        return req.getRequestURI().equals("/v1/health") && (m.equals("GET") || m.equals("POST"));
    }

    /** Returns the status the client saw. */
    private int forward(
            HttpServletRequest req,
            HttpServletResponse res,
            Lease lease,
            boolean health,
            UpstreamClient.Request upstreamRequest)
            throws IOException {
        UpstreamClient.Response response;
        try {
            response = upstream.send(lease.port(), upstreamRequest);
        } catch (BodyTooLarge e) {
            // a streamed body passed the limit on its way: the worker connection is dropped, the request refused
            GatewayErrors.writeRefusal(res, 413, "payload_too_large", e.getMessage());
            return 413;
        } catch (ClientBodyFailed e) {
            log.info("{} {}: {}", req.getMethod(), req.getRequestURI(), e.getMessage());
            GatewayErrors.writeRefusal(res, 400, "invalid_request_error", e.getMessage());
            return 400;
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
            if (length != null
                    && response.header("transfer-encoding") == null
                    && !req.getMethod().equals("HEAD")) {
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

    private UpstreamClient.Request upstreamRequest(HttpServletRequest req) throws IOException {
        String query = req.getQueryString();
        String target = req.getRequestURI() + (query == null ? "" : "?" + query);
        List<UpstreamClient.Header> headers = new ArrayList<>();
        Set<String> connectionTokens = connectionTokens(req);
        for (String name : Collections.list(req.getHeaderNames())) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (HOP_BY_HOP.contains(lower) || connectionTokens.contains(lower) || lower.startsWith("x-forwarded-"))
                continue;
            for (String v : Collections.list(req.getHeaders(name))) headers.add(new UpstreamClient.Header(name, v));
        }
        String prior = req.getHeader("X-Forwarded-For");
        String client = req.getRemoteAddr();
        headers.add(new UpstreamClient.Header(
                "X-Forwarded-For", prior == null || prior.isBlank() ? client : prior + ", " + client));
        String proto = req.getHeader("X-Forwarded-Proto");
        headers.add(new UpstreamClient.Header(
                "X-Forwarded-Proto", proto == null || proto.isBlank() ? req.getScheme() : proto));
        String host = req.getHeader("Host");
        if (host != null) headers.add(new UpstreamClient.Header("X-Forwarded-Host", host));

        long length = req.getContentLengthLong();
        boolean chunked = req.getHeader("Transfer-Encoding") != null;
        long limit = frontDoor.maxBodyBytes();
        if (length > limit) throw new BodyTooLarge(limit);
        if (length == 0 || (length < 0 && !chunked)) {
            return new UpstreamClient.Request(req.getMethod(), target, headers, null, null, -1);
        }
        InputStream body = new ClientBody(req.getInputStream());
        if (length > REPLAY_BUFFER) {
            // streamed: Jetty holds the client to the length it declared
            return new UpstreamClient.Request(req.getMethod(), target, headers, null, body, length);
        }
        // Small bodies (every editor request) are read whole, within the head timeout: the request can then be
        // retried on a fresh connection, and a client trickling its body is cut off instead of holding a slot.
        int want = length > 0 ? (int) length : (int) Math.min(REPLAY_BUFFER + 1L, limit + 1);
        byte[] head;
        var endPoint = endPoint(req);
        var deadline = endPoint == null ? null : guard.deadline(endPoint, frontDoor.headTimeout(), "request body");
        try {
            head = body.readNBytes(want);
        } finally {
            if (deadline != null) deadline.cancel(false);
        }
        if (length > 0) {
            if (head.length < length)
                throw new ClientBodyFailed("request body ended after " + head.length + " of " + length + " bytes");
            return new UpstreamClient.Request(req.getMethod(), target, headers, head, null, -1);
        }
        if (head.length > limit) throw new BodyTooLarge(limit);
        if (head.length <= REPLAY_BUFFER) {
            return new UpstreamClient.Request(req.getMethod(), target, headers, head, null, -1);
        }
        // a chunked body past the replay buffer: what was read goes first, the rest is streamed and counted
        InputStream rest =
                new LimitedBody(new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(head), body), limit);
        return new UpstreamClient.Request(req.getMethod(), target, headers, null, rest, -1);
    }

    private static org.eclipse.jetty.io.EndPoint endPoint(HttpServletRequest req) {
        var request = org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(req);
        return request == null
                ? null
                : request.getConnectionMetaData().getConnection().getEndPoint();
    }

    /** The body passed the front door's limit. */
    static final class BodyTooLarge extends IOException {
        BodyTooLarge(long limit) {
            super("request body exceeds " + limit + " bytes", null);
        }
    }

    /** Reading the client's body failed: it went away, broke the framing, or was cut off for being too slow. */
    static final class ClientBodyFailed extends IOException {
        ClientBodyFailed(String message) {
            super(message, null);
        }
    }

    /** The client's body stream, its failures told apart from the worker's. */
    private static final class ClientBody extends java.io.FilterInputStream {
        ClientBody(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException e) {
                throw failed(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        private static ClientBodyFailed failed(IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (e.getCause() != null && e.getCause().getMessage() != null)
                why += " (" + e.getCause().getMessage() + ")";
            return new ClientBodyFailed("cannot read the request body: " + why);
        }
    }

    /** Passes at most {@code limit} bytes; one more is a {@link BodyTooLarge}. */
    private static final class LimitedBody extends java.io.FilterInputStream {
        private final long limit;
        private long seen;

        LimitedBody(InputStream in, long limit) {
            super(in);
            this.limit = limit;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0 && (seen += n) > limit) throw new BodyTooLarge(limit);
            return n;
        }
    }

    private static Set<String> connectionTokens(HttpServletRequest req) {
        Set<String> tokens = new HashSet<>();
        for (String v : Collections.list(req.getHeaders("Connection"))) {
            for (String t : v.split(",")) tokens.add(t.trim().toLowerCase(Locale.ROOT));
        }
        return tokens;
    }

    private static String describe(IOException e) {
        return e.getMessage() == null
                ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
