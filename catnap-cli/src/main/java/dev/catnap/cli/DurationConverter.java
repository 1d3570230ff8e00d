package dev.catnap.cli;

import java.time.Duration;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Durations on the command line: {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}; a bare number means seconds.
 * Every duration option is a timeout or a window, so zero is refused.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)?");

    @Override
    public Duration convert(String text) {
        return parse(text);
    }

    static Duration parse(String text) {
        var m = DURATION.matcher(text.strip());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("invalid duration '" + text + "' (examples: 500ms, 30s, 2m)");
        }
        long n = Long.parseLong(m.group(1));
        if (n == 0) throw new CommandLine.TypeConversionException("duration must be positive: " + text);
        return switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        };
    }
}
