package dev.catnap.server;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@code catnap serve} listens and admits work.
 *
 * @param parallelism generations that run together per model (the engine's batch)
 * @param queueLimit  requests per model that may wait for a slot beyond those; more are answered 503
 * @param token       when present every {@code /v1*} path needs {@code Authorization: Bearer <token>}
 * @param eventsDir   where {@code /v1/events} appends one JSON-lines file per UTC day
 * @param device      {@code cpu} or {@code cuda}, reported in {@code /v1/health}
 * @param version     reported in {@code /v1/health}
 * @param cudaDevices the GPUs' names as Tabby reports them in {@code /v1/health} (e.g. "NVIDIA H100 80GB HBM3");
 *                    empty on the CPU
 * @param maxBodyBytes largest request body; a larger one (declared or actual) is answered 413 with a JSON message
 */
public record ServerOptions(
        String host,
        int port,
        int parallelism,
        int queueLimit,
        Optional<String> token,
        Path eventsDir,
        Duration completionTimeout,
        String device,
        String version,
        List<String> cudaDevices,
        long maxBodyBytes) {
    /** The body limit unless told otherwise, the gateway's too: editors' requests are a few KiB to a few 100 KiB. */
    public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;

    public ServerOptions {
        if (maxBodyBytes < 1)
            throw new IllegalArgumentException("max body size must be at least 1 byte, got " + maxBodyBytes);
        Objects.requireNonNull(host, "host");
        cudaDevices = List.copyOf(cudaDevices);
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be in 0..65535, got " + port);
        if (parallelism < 1) throw new IllegalArgumentException("parallelism must be at least 1, got " + parallelism);
        if (queueLimit < 0) throw new IllegalArgumentException("queue limit must not be negative, got " + queueLimit);
        if (completionTimeout.isNegative() || completionTimeout.isZero())
            throw new IllegalArgumentException("completion timeout must be positive, got " + completionTimeout);
        token.ifPresent(t -> {
            if (t.isBlank()) throw new IllegalArgumentException("token must not be blank");
        });
    }

    /** The default body limit. */
    public ServerOptions(
            String host,
            int port,
            int parallelism,
            int queueLimit,
            Optional<String> token,
            Path eventsDir,
            Duration completionTimeout,
            String device,
            String version,
            List<String> cudaDevices) {
        this(
                host,
                port,
                parallelism,
                queueLimit,
                token,
                eventsDir,
                completionTimeout,
                device,
                version,
                cudaDevices,
                DEFAULT_MAX_BODY_BYTES);
    }

    /** No GPUs (the CPU device). */
    public ServerOptions(
            String host,
            int port,
            int parallelism,
            int queueLimit,
            Optional<String> token,
            Path eventsDir,
            Duration completionTimeout,
            String device,
            String version) {
        this(
                host,
                port,
                parallelism,
                queueLimit,
                token,
                eventsDir,
                completionTimeout,
                device,
                version,
                List.of(),
                DEFAULT_MAX_BODY_BYTES);
    }

    /** The queue Catnap uses unless told otherwise: four waiting requests per running one. */
    public static int defaultQueueLimit(int parallelism) {
        return 4 * parallelism;
    }
}
