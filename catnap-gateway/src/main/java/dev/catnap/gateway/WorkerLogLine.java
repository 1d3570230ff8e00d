package dev.catnap.gateway;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What the gateway does to a worker's stderr line before logging it: the gateway's log line already carries a
 * timestamp, so a leading ISO-8601 one from the worker (catnap's, Tabby's) is dropped; and the JVM's "Using incubator
 * modules" warning, which every catnap worker prints at start and no JVM flag turns off, is left out.
 */
final class WorkerLogLine {
    private static final Pattern LEADING_TIMESTAMP = Pattern.compile(
            "^\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}:\\d{2}(?:[.,]\\d+)?(?:Z|[+-]\\d{2}(?::?\\d{2})?)?\\s+");
    private static final String INCUBATOR_WARNING = "WARNING: Using incubator modules:";

    private WorkerLogLine() {}

    /** The line to log and keep, or empty for a line that says nothing to an operator. */
    static Optional<String> clean(String line) {
        if (line.startsWith(INCUBATOR_WARNING)) return Optional.empty();
        return Optional.of(LEADING_TIMESTAMP.matcher(line).replaceFirst(""));
    }
}
