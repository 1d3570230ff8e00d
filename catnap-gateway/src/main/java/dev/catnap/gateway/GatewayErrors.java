package dev.catnap.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** Errors the gateway answers itself: a JSON body {@code {"error": {"message", "type", "status"}}}. */
final class GatewayErrors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private GatewayErrors() {}

    static void write(HttpServletResponse res, int status, String message, Duration retryAfter) throws IOException {
        if (res.isCommitted()) return;
        res.reset();
        res.setStatus(status);
        res.setContentType("application/json");
        if (retryAfter != null) res.setHeader("Retry-After", Long.toString(Math.max(1, retryAfter.toSeconds())));
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", "gateway_error");
        error.put("status", status);
        byte[] body = JSON.writeValueAsBytes(Map.of("error", error));
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
    }
}
