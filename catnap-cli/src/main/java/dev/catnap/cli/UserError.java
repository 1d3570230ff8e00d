package dev.catnap.cli;

/** A failure caused by the user's input or environment: printed as one line, exit code as given. */
final class UserError extends RuntimeException {
    private final int exitCode;

    UserError(String message) {
        this(message, 2);
    }

    UserError(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
