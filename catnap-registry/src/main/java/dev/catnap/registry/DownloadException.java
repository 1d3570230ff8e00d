package dev.catnap.registry;

/** Why a download failed; {@link #kind()} lets the command map it to an exit code. The message is one readable line. */
public final class DownloadException extends Exception {
    public enum Kind {
        /** Bad id, unknown model, wrong role, bad registry file or entry, no URL for the chosen host. */
        BAD_INPUT,
        /** The registry could not be fetched and no cached copy exists. */
        REGISTRY_UNAVAILABLE,
        /** Every mirror failed (HTTP errors, connection failures, stalls). */
        NETWORK,
        /** The downloaded bytes do not hash to the registry's SHA-256 on any mirror. */
        CHECKSUM,
        /** The models dir cannot be created or written (permissions, disk full). */
        LOCAL_IO,
        /** Another download of the same model held the lock for longer than the lock timeout. */
        LOCKED
    }

    private final Kind kind;

    DownloadException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    DownloadException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
