package dev.catnap.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The soak and chaos run, 60 s by default (set {@code -Dcatnap.soak.seconds=600} for the report's 10 minutes, as
 * {@code scripts/soak 600} does). Fails on a hung or lost request, an unexplained 5xx, an orphan process, or thread or
 * descriptor growth. The report is printed and kept in target/soak-report.txt.
 */
class SoakTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
    void editorsKillsAndScaleToZeroLoseNoRequestAndLeakNothing() throws Exception {
        long seconds = Long.getLong("catnap.soak.seconds", 60);
        String keep = System.getProperty("catnap.soak.dir"); // to keep the gateway's log and thread dump
        Soak.Report report = Soak.run(Duration.ofSeconds(seconds), keep != null ? Path.of(keep) : tmp);
        System.out.println(report);
        Files.writeString(Path.of("target", "soak-report.txt"), report + "\n");
        assertThat(report.problems()).as(report.toString()).isEmpty();
        assertThat(report.hung()).isZero();
        assertThat(report.lost()).isZero();
        assertThat(report.orphans()).isZero();
    }
}
