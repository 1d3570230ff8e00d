package dev.catnap.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Everything the gateway needs, with the seed deployment's values as defaults: 10 concurrent requests per worker,
 * stopped after 120 s idle, scale to zero, one worker at most.
 *
 * @param workerCommand argv of a worker; every {@code {port}} in it is replaced by the port the worker must listen on
 * @param queueTimeout longest a request waits for a worker slot before a 503
 * @param failureLimit quick start failures in a row after which starts pause for {@code failureCooldown}
 * @param stateDir where the last health body is kept across restarts
 */
public record GatewayConfig(
        String host,
        int port,
        List<String> workerCommand,
        int maxInputs,
        Duration scaledownWindow,
        int minWorkers,
        int maxWorkers,
        Duration startupTimeout,
        int maxQueue,
        Duration queueTimeout,
        Readiness readiness,
        Duration drainTimeout,
        int failureLimit,
        Duration failureCooldown,
        Path stateDir) {

    public static final int DEFAULT_MAX_INPUTS = 10;
    public static final Duration DEFAULT_SCALEDOWN_WINDOW = Duration.ofSeconds(120);
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(600);

    public GatewayConfig {
        workerCommand = List.copyOf(workerCommand);
        if (workerCommand.isEmpty()) throw new IllegalArgumentException("worker command is empty");
        if (workerCommand.stream().noneMatch(a -> a.contains("{port}"))) {
            throw new IllegalArgumentException(
                    "worker command must contain {port}: " + String.join(" ", workerCommand));
        }
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0-65535, got " + port);
        if (maxInputs < 1) throw new IllegalArgumentException("max-inputs must be at least 1, got " + maxInputs);
        if (minWorkers < 0) throw new IllegalArgumentException("min-workers must be 0 or more, got " + minWorkers);
        if (maxWorkers < 1) throw new IllegalArgumentException("max-workers must be at least 1, got " + maxWorkers);
        if (minWorkers > maxWorkers) {
            throw new IllegalArgumentException(
                    "min-workers (" + minWorkers + ") exceeds max-workers (" + maxWorkers + ")");
        }
        if (maxQueue < 0) throw new IllegalArgumentException("max-queue must be 0 or more, got " + maxQueue);
        if (failureLimit < 1) throw new IllegalArgumentException("failure limit must be at least 1");
        requirePositive("scaledown-window", scaledownWindow);
        requirePositive("startup-timeout", startupTimeout);
        requirePositive("queue-timeout", queueTimeout);
        requirePositive("drain-timeout", drainTimeout);
        requirePositive("failure cooldown", failureCooldown);
    }

    private static void requirePositive(String name, Duration d) {
        if (d == null || d.isNegative() || d.isZero())
            throw new IllegalArgumentException(name + " must be positive, got " + d);
    }

    /** The seed's settings for this worker command. */
    public static GatewayConfig defaults(List<String> workerCommand, Path stateDir) {
        return new GatewayConfig(
                "127.0.0.1",
                8080,
                workerCommand,
                DEFAULT_MAX_INPUTS,
                DEFAULT_SCALEDOWN_WINDOW,
                0,
                1,
                DEFAULT_STARTUP_TIMEOUT,
                100,
                DEFAULT_STARTUP_TIMEOUT,
                new Readiness.Tcp(),
                Duration.ofSeconds(30),
                3,
                Duration.ofSeconds(30),
                stateDir);
    }
}
