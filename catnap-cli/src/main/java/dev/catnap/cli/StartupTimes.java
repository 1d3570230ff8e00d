package dev.catnap.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a worker's start went, logged once when it listens (the cold-start benchmark reads this line): JVM start
 * (process start to {@code main}), init (main to loading models), model open, HTTP server start, warm-up, and the
 * resident memory when ready.
 */
record StartupTimes(long jvmMs, long initMs, long modelsMs, long httpMs, long warmupMs, long readyMs, long rssMiB) {

    /** Milliseconds from {@code main} to now. */
    static long sinceMain() {
        return System.currentTimeMillis() - Main.STARTED_AT_MILLIS;
    }

    /** Measured now, when the port is open: the process start comes from the OS (10 ms resolution on Linux). */
    static StartupTimes now(long initMs, long modelsMs, long httpMs, long warmupMs) {
        long now = System.currentTimeMillis();
        long processStart = ProcessHandle.current()
                .info()
                .startInstant()
                .map(java.time.Instant::toEpochMilli)
                .orElse(Main.STARTED_AT_MILLIS);
        long jvm = Math.max(0, Main.STARTED_AT_MILLIS - processStart);
        return new StartupTimes(jvm, initMs, modelsMs, httpMs, warmupMs, now - processStart, residentMiB());
    }

    String describe() {
        return String.format(
                Locale.ROOT,
                "startup: jvm %d ms, init %d ms, models %d ms, http %d ms, warm-up %d ms; ready %d ms after launch, RSS %d MiB",
                jvmMs,
                initMs,
                modelsMs,
                httpMs,
                warmupMs,
                readyMs,
                rssMiB);
    }

    /** VmRSS in MiB, -1 where /proc is not there. */
    static long residentMiB() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) return Long.parseLong(l.replaceAll("\\D", "")) / 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }
}
