package dev.catnap.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * Keeps the last lines a worker wrote to stderr, so that a failed start can say why.
 *
 * <p>Bounded whatever the worker writes: a line is cut at {@link #MAX_LINE_BYTES} while it is read (the rest up to
 * its newline is skipped, so a gigabyte without a newline costs one small buffer), only {@code maxLines} are kept,
 * and {@link #admitLog} lets at most {@link #LOG_LINES_PER_SECOND} lines a second through to the gateway's log.
 */
final class StderrTail {
    static final int MAX_LINE_BYTES = 2000;
    static final int LOG_LINES_PER_SECOND = 100;

    private final int maxLines;
    private final ArrayDeque<String> lines = new ArrayDeque<>();
    private long windowStartNanos = System.nanoTime();
    private int loggedInWindow;
    private long suppressed;

    StderrTail(int maxLines) {
        this.maxLines = maxLines;
    }

    /** Reads {@code in} to its end on a virtual thread, handing each line to {@code sink} (which may {@link #add} it). */
    Thread drain(InputStream in, Consumer<String> sink) {
        return Thread.ofVirtual().name("worker-stderr").start(() -> {
            try (in) {
                byte[] buf = new byte[8192];
                byte[] line = new byte[MAX_LINE_BYTES];
                int length = 0;
                boolean cut = false;
                for (int n; (n = in.read(buf)) >= 0; ) {
                    int from = 0;
                    while (from < n) {
                        int nl = from;
                        while (nl < n && buf[nl] != '\n') nl++;
                        int keep = Math.min(nl - from, MAX_LINE_BYTES - length);
                        System.arraycopy(buf, from, line, length, keep);
                        length += keep;
                        if (keep < nl - from) cut = true;
                        if (nl == n) break;
                        sink.accept(text(line, length, cut));
                        length = 0;
                        cut = false;
                        from = nl + 1;
                    }
                }
                if (length > 0 || cut) sink.accept(text(line, length, cut));
            } catch (IOException ignored) {
                // the process is gone; what we have is the tail
            }
        });
    }

    private static String text(byte[] line, int length, boolean cut) {
        if (length > 0 && line[length - 1] == '\r') length--;
        String s = new String(line, 0, length, StandardCharsets.UTF_8);
        return cut ? s + "..." : s;
    }

    synchronized void add(String line) {
        if (line.length() > 500) line = line.substring(0, 500) + "...";
        lines.addLast(line);
        while (lines.size() > maxLines) lines.removeFirst();
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    /**
     * Whether a line read now may go to the log. Returns -1 for no, else the number of lines held back since the last
     * line let through (0 in the ordinary case), for the caller to mention.
     */
    synchronized long admitLog(long nowNanos) {
        if (nowNanos - windowStartNanos >= 1_000_000_000L) {
            windowStartNanos = nowNanos;
            loggedInWindow = 0;
        }
        if (loggedInWindow >= LOG_LINES_PER_SECOND) {
            suppressed++;
            return -1;
        }
        loggedInWindow++;
        long held = suppressed;
        suppressed = 0;
        return held;
    }
}
