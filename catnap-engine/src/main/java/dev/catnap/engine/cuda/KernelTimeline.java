package dev.catnap.engine.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Events recorded after each kernel of one uncaptured step, turned into GPU time per kind of kernel: where a step's
 * time goes, and how close the products come to the memory bandwidth or the arithmetic rate.
 */
final class KernelTimeline implements AutoCloseable {
    /** One kind of kernel (a label) over the step: how many launches, their GPU time, weight bytes and flops. */
    record OpTime(String label, int calls, double millis, long bytes, long flops) {
        double gigabytesPerSecond() {
            return millis > 0 ? bytes / (millis * 1e6) : 0;
        }

        double teraflops() {
            return millis > 0 ? flops / (millis * 1e9) : 0;
        }
    }

    private record Mark(String label, long bytes, long flops, CudaEvent event) {}

    private CudaEvent start;
    private final List<Mark> marks = new ArrayList<>();

    void start(CudaEvent event) {
        start = event;
    }

    void add(String label, long bytes, long flops, CudaEvent event) {
        marks.add(new Mark(label, bytes, flops, event));
    }

    /** Per label, in order of first launch; waits for the last kernel. */
    List<OpTime> summary() {
        Map<String, OpTime> byLabel = new LinkedHashMap<>();
        CudaEvent previous = start;
        for (Mark m : marks) {
            double ms = CudaStream.millisBetween(previous, m.event());
            byLabel.merge(
                    m.label(),
                    new OpTime(m.label(), 1, ms, m.bytes(), m.flops()),
                    (a, b) -> new OpTime(
                            a.label(),
                            a.calls() + 1,
                            a.millis() + b.millis(),
                            a.bytes() + b.bytes(),
                            a.flops() + b.flops()));
            previous = m.event();
        }
        return List.copyOf(byLabel.values());
    }

    @Override
    public void close() {
        if (start != null) start.close();
        for (Mark m : marks) m.event().close();
    }
}
