package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A worker that floods stderr costs the gateway a bounded buffer, not memory in proportion to the flood. */
@Timeout(60)
class StderrTailTest {
    @TempDir
    Path tmp;

    /** {@code total} bytes of 'e' with no newline, then "\nlast\n"; generated, never held. */
    private static InputStream flood(long total) {
        return new InputStream() {
            long left = total;
            final byte[] tail = "\nlast\n".getBytes();
            int tailAt;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0];
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left > 0) {
                    int n = (int) Math.min(len, left);
                    java.util.Arrays.fill(b, off, off + n, (byte) 'e');
                    left -= n;
                    return n;
                }
                if (tailAt == tail.length) return -1;
                b[off] = tail[tailAt++];
                return 1;
            }
        };
    }

    @Test
    void aLineLongerThanAnyArrayIsCutNotBuffered() throws Exception {
        StderrTail tail = new StderrTail(5);
        List<Integer> lengths = new ArrayList<>();
        // 2.2 GB without a newline: a reader that buffers lines cannot even hold it in one String
        tail.drain(flood(2_200_000_000L), line -> {
                    lengths.add(line.length());
                    tail.add(line);
                })
                .join();
        assertThat(lengths).containsExactly(StderrTail.MAX_LINE_BYTES + 3, 4);
        assertThat(tail.lines()).hasSize(2);
        assertThat(tail.lines().get(0)).hasSize(503).endsWith("...");
        assertThat(tail.lines().get(1)).isEqualTo("last");
    }

    @Test
    void theLogGetsAtMostItsShareOfAFlood() {
        StderrTail tail = new StderrTail(5);
        long t0 = System.nanoTime();
        int admitted = 0;
        for (int i = 0; i < 10_000; i++) if (tail.admitLog(t0 + i) >= 0) admitted++;
        assertThat(admitted).isEqualTo(StderrTail.LOG_LINES_PER_SECOND);
        assertThat(tail.admitLog(t0 + 1_000_000_000L)).isEqualTo(10_000 - StderrTail.LOG_LINES_PER_SECOND);
    }

    @Test
    void aFloodingWorkerLeavesTheGatewayServing() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config())) {
            Runtime rt = Runtime.getRuntime();
            System.gc();
            long before = rt.totalMemory() - rt.freeMemory();
            assertThat(get(g, "/flood-stderr?mb=100").statusCode()).isEqualTo(200);
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
            System.gc();
            long after = rt.totalMemory() - rt.freeMemory();
            // 100 MB went through; a tail of 20 lines of at most 503 characters stays
            assertThat(after - before).isLessThan(40L << 20);
        }
    }
}
