package dev.catnap.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Errors the gateway answers itself, all in the one shape {@code catnap serve} uses (and llama-server, and OpenAI
 * clients read): {@code {"error": {"message", "type", "code"}}} with the HTTP status as {@code code}, so that an editor
 * sees the same answer whether or not a gateway is in front. About workers (503 no slot, 502 worker failed) the type
 * is {@code gateway_error}; about the request itself (401, 413, 400, 408...) it is the type {@code catnap serve} gives
 * for the same refusal.
 */
final class GatewayErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private GatewayErrors() {}

    static void write(HttpServletResponse res, int status, String message, Duration retryAfter) throws IOException {
        if (res.isCommitted()) return;
        res.reset();
        res.setStatus(status);
        res.setContentType("application/json");
        if (retryAfter != null) res.setHeader("Retry-After", Long.toString(Math.max(1, retryAfter.toSeconds())));
        byte[] body = refusalBody(status, "gateway_error", message);
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }

    /** The request is refused as {@code catnap serve} would refuse it (its error body and CORS headers). */
    static void writeRefusal(HttpServletResponse res, int status, String type, String message) throws IOException {
        if (res.isCommitted()) return;
        res.reset();
        res.setStatus(status);
        res.setContentType("application/json");
        corsHeaders(res::setHeader);
        byte[] body = refusalBody(status, type, message);
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }

    static byte[] refusalBody(int status, String type, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", type);
        error.put("code", status);
        try {
            return JSON.writeValueAsBytes(Map.of("error", error));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Tabby answers every origin (CorsLayer::permissive), and so does {@code catnap serve}. */
    static void corsHeaders(java.util.function.BiConsumer<String, String> set) {
        set.accept("Access-Control-Allow-Origin", "*");
        set.accept("Access-Control-Allow-Headers", "*");
        set.accept("Access-Control-Allow-Methods", "*");
    }
}
