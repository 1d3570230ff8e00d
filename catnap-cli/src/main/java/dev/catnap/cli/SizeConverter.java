package dev.catnap.cli;

import java.util.Locale;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** Byte sizes on the command line: {@code 1048576}, {@code 512k}, {@code 1m}, {@code 2MiB} (powers of 1024). */
final class SizeConverter implements CommandLine.ITypeConverter<Long> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmg]?)(i?b)?");

    @Override
    public Long convert(String text) {
        return parse(text);
    }

    static long parse(String text) {
        var m = SIZE.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches())
            throw new CommandLine.TypeConversionException("invalid size '" + text + "' (examples: 1m, 512k, 1048576)");
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("size too large: " + text);
        }
        int shift = switch (m.group(2)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
        if (n == 0) throw new CommandLine.TypeConversionException("size must be positive: " + text);
        if (n > (Long.MAX_VALUE >> shift) || (n << shift) > Integer.MAX_VALUE - 8) {
            throw new CommandLine.TypeConversionException("size must be under 2 GiB: " + text);
        }
        return n << shift;
    }
}
