package dev.catnap.gateway;

import java.time.Duration;

/**
 * What the gateway's listener lets in, decided before any worker is touched.
 *
 * @param tokens        accepted bearer tokens; {@link Tokens#none()} leaves the door open
 * @param maxBodyBytes  largest request body; more is answered 413 (the same default as {@code catnap serve})
 * @param maxHeaderBytes largest request line plus headers; more is answered 431
 * @param idleTimeout   a connection on which nothing arrives or leaves for this long is closed
 * @param headTimeout   a request whose head (or body, when it is read whole) takes longer than this to arrive is
 *                      cut off, however steadily its bytes trickle in
 */
public record FrontDoor(
        Tokens tokens, long maxBodyBytes, int maxHeaderBytes, Duration idleTimeout, Duration headTimeout) {
    public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;
    public static final int DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    public static final Duration DEFAULT_HEAD_TIMEOUT = Duration.ofSeconds(20);

    public FrontDoor {
        if (tokens == null) throw new IllegalArgumentException("tokens must be given (Tokens.none() for an open door)");
        if (maxBodyBytes < 1)
            throw new IllegalArgumentException("max body size must be at least 1 byte, got " + maxBodyBytes);
        if (maxHeaderBytes < 1024)
            throw new IllegalArgumentException("max header size must be at least 1024 bytes, got " + maxHeaderBytes);
        requirePositive("idle timeout", idleTimeout);
        requirePositive("head timeout", headTimeout);
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero())
            throw new IllegalArgumentException(name + " must be positive, got " + d);
    }

    /** An open door with the default limits. */
    public static FrontDoor open() {
        return new FrontDoor(
                Tokens.none(),
                DEFAULT_MAX_BODY_BYTES,
                DEFAULT_MAX_HEADER_BYTES,
                DEFAULT_IDLE_TIMEOUT,
                DEFAULT_HEAD_TIMEOUT);
    }

    public FrontDoor withTokens(Tokens t) {
        return new FrontDoor(t, maxBodyBytes, maxHeaderBytes, idleTimeout, headTimeout);
    }

    public FrontDoor withMaxBodyBytes(long n) {
        return new FrontDoor(tokens, n, maxHeaderBytes, idleTimeout, headTimeout);
    }

    FrontDoor withTimeouts(Duration idle, Duration head) {
        return new FrontDoor(tokens, maxBodyBytes, maxHeaderBytes, idle, head);
    }
}
