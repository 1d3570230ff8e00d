package dev.catnap.gateway;

import java.time.Duration;

/** Why a request cannot be served: answered as HTTP {@code status} with a JSON error and, for 503, Retry-After. */
final class Rejection extends Exception {
    private final int status;
    private final Duration retryAfter;

    Rejection(int status, String message, Duration retryAfter) {
        super(message, null, false, false);
        this.status = status;
        this.retryAfter = retryAfter;
    }

    int status() {
        return status;
    }

    Duration retryAfter() {
        return retryAfter;
    }
}
