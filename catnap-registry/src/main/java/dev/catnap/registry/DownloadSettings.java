package dev.catnap.registry;

import java.time.Duration;
import java.util.Map;

/**
 * How downloads behave. {@code env} supplies {@code TABBY_DOWNLOAD_HOST} and {@code TABBY_HUGGINGFACE_HOST_OVERRIDE};
 * each URL is tried {@code attemptsPerUrl} times with exponential backoff from {@code firstBackoff} up to {@code maxBackoff}
 * before the next mirror; a transfer with no byte for {@code stallTimeout} counts as dropped.
 */
public record DownloadSettings(
        Map<String, String> env,
        int attemptsPerUrl,
        Duration firstBackoff,
        Duration maxBackoff,
        Duration registryTimeout,
        Duration connectTimeout,
        Duration stallTimeout,
        Duration lockTimeout,
        Duration logInterval,
        boolean terminalProgress) {

    public DownloadSettings {
        env = Map.copyOf(env);
        if (attemptsPerUrl < 1) throw new IllegalArgumentException("attemptsPerUrl must be at least 1");
    }

    /** Production defaults: 3 attempts per URL from 1 s backoff, Tabby's 5 s registry timeout, 60 s stall timeout, 1 h lock wait. */
    public static DownloadSettings defaults(Map<String, String> env, boolean terminalProgress) {
        return new DownloadSettings(
                env,
                3,
                Duration.ofSeconds(1),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Duration.ofSeconds(10),
                Duration.ofSeconds(60),
                Duration.ofHours(1),
                Duration.ofSeconds(10),
                terminalProgress);
    }

    public DownloadSettings withRetries(int attempts, Duration first, Duration max) {
        return new DownloadSettings(
                env,
                attempts,
                first,
                max,
                registryTimeout,
                connectTimeout,
                stallTimeout,
                lockTimeout,
                logInterval,
                terminalProgress);
    }

    public DownloadSettings withTimeouts(Duration registry, Duration stall, Duration lock) {
        return new DownloadSettings(
                env,
                attemptsPerUrl,
                firstBackoff,
                maxBackoff,
                registry,
                connectTimeout,
                stall,
                lock,
                logInterval,
                terminalProgress);
    }

    public DownloadSettings withLogInterval(Duration interval) {
        return new DownloadSettings(
                env,
                attemptsPerUrl,
                firstBackoff,
                maxBackoff,
                registryTimeout,
                connectTimeout,
                stallTimeout,
                lockTimeout,
                interval,
                terminalProgress);
    }
}
