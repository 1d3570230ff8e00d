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

    /** A server that could not open its port (in use, no permission, bad address): the innermost cause says why. */
    static UserError cannotListen(String host, int port, Throwable failure) {
        Throwable e = failure;
        while (e.getCause() != null) e = e.getCause();
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new UserError("cannot listen on " + host + ":" + port + ": " + why, 1);
    }

    int exitCode() {
        return exitCode;
    }
}
