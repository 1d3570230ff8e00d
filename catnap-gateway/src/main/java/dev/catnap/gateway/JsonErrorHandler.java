package dev.catnap.gateway;

import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The answer to requests Jetty refuses before any route sees them (a malformed request line, an unknown
 * Content-Length, headers past the size limit, a broken chunk): the JSON error body {@code catnap serve} uses, in
 * place of Jetty's HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {
    @Override
    protected void generateResponse(
            Request request, Response response, int code, String message, Throwable cause, Callback callback) {
        String text = message != null && !message.isBlank() ? message : HttpStatus.getMessage(code);
        byte[] body = GatewayErrors.refusalBody(code, type(code), text);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    static String type(int code) {
        return switch (code) {
            case 400 -> "invalid_request_error";
            case 401 -> "unauthorized";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 408 -> "request_timeout";
            case 411 -> "length_required";
            case 413 -> "payload_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "header_too_large";
            case 501 -> "not_implemented";
            case 505 -> "http_version_not_supported";
            default -> code >= 500 ? "server_error" : "http_error";
        };
    }
}
