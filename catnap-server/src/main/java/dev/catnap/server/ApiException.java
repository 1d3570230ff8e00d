package dev.catnap.server;

/** A request the server refuses: becomes an HTTP status with a JSON error body. */
final class ApiException extends RuntimeException {
    private final int status;
    private final String type;

    ApiException(int status, String type, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
    }

    static ApiException badRequest(String message) {
        return new ApiException(400, "invalid_request_error", message);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }
}
