package dev.catnap.registry;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Byte progress of one model's download across its parts (thread-safe). On a terminal it draws a bar with bytes,
 * rate and ETA; otherwise it logs one line per interval.
 */
final class Progress implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Progress.class);

    private final String label;
    private final AtomicLongArray totals;
    private final AtomicLongArray done;
    private final AtomicLong fetched = new AtomicLong();
    private final long startNanos = System.nanoTime();
    private final ProgressBar bar; // null without a terminal
    private final ScheduledExecutorService ticker;

    Progress(String label, int parts, boolean terminal, Duration interval) {
        this.label = label;
        this.totals = new AtomicLongArray(parts);
        this.done = new AtomicLongArray(parts);
        for (int i = 0; i < parts; i++) totals.set(i, -1);
        this.bar = terminal
                ? new ProgressBarBuilder()
                        .setTaskName(label)
                        .setStyle(ProgressBarStyle.ASCII)
                        .setUnit(" MiB", 1 << 20)
                        .showSpeed(new java.text.DecimalFormat("0.0"))
                        .setInitialMax(-1)
                        .continuousUpdate()
                        .build()
                : null;
        this.ticker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofVirtual().name("download-progress").factory());
        long ms = terminal ? 200 : Math.max(1, interval.toMillis());
        ticker.scheduleAtFixedRate(this::report, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Part {@code index} (0-based) is {@code total} bytes long (-1: unknown) and {@code onDisk} of them are already there. */
    void part(int index, long total, long onDisk) {
        totals.set(index, total);
        done.set(index, onDisk);
    }

    void advance(int index, long bytes) {
        done.addAndGet(index, bytes);
        fetched.addAndGet(bytes);
    }

    /** Bytes received in this run, over all parts (not those found on disk). */
    long fetched() {
        return fetched.get();
    }

    private long sum(AtomicLongArray a) {
        long s = 0;
        for (int i = 0; i < a.length(); i++) {
            long v = a.get(i);
            if (v < 0) return -1;
            s += v;
        }
        return s;
    }

    private void report() {
        long d = sum(done);
        long t = sum(totals);
        if (bar != null) {
            if (t > 0) bar.maxHint(t);
            bar.stepTo(d);
            return;
        }
        double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
        double rate = fetched.get() / seconds;
        if (t > 0) {
            String eta = rate > 0 ? duration((long) ((t - d) / rate)) : "?";
            log.info(
                    "{}: {} of {} ({}%), {}/s, ETA {}",
                    label, mib(d), mib(t), String.format(Locale.ROOT, "%.1f", 100.0 * d / t), mib((long) rate), eta);
        } else {
            log.info("{}: {}, {}/s", label, mib(d), mib((long) rate));
        }
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        if (bar != null) {
            report();
            bar.close();
        }
    }

    static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }

    static String duration(long seconds) {
        return String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
    }
}
