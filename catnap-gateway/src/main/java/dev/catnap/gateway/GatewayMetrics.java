package dev.catnap.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The gateway's Prometheus metrics. {@code catnap_gateway_worker_seconds_total} is what the GPUs cost. */
final class GatewayMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<Integer, Counter> requestsByStatus = new ConcurrentHashMap<>();
    private final Counter coldStarts = Counter.builder("catnap.gateway.cold.starts")
            .description("Workers started")
            .register(registry);
    private final Counter startFailures = Counter.builder("catnap.gateway.start.failures")
            .description("Workers that exited or timed out before they were ready")
            .register(registry);
    private final Counter crashes = Counter.builder("catnap.gateway.worker.crashes")
            .description("Ready workers that exited without being asked to")
            .register(registry);
    private final Counter scaleDowns = Counter.builder("catnap.gateway.scale.downs")
            .description("Workers stopped after the scale-down window without requests")
            .register(registry);
    private final Timer coldStartTime = Timer.builder("catnap.gateway.cold.start")
            .description("From launching a worker to its readiness")
            .serviceLevelObjectives(
                    sec(0.25), sec(0.5), sec(1), sec(2), sec(5), sec(10), sec(20), sec(30), sec(60), sec(120), sec(300),
                    sec(600))
            .register(registry);
    private final Timer queueWait = Timer.builder("catnap.gateway.queue.wait")
            .description("Time a request waited for a worker slot")
            .serviceLevelObjectives(
                    sec(0.001),
                    sec(0.01),
                    sec(0.1),
                    sec(0.5),
                    sec(1),
                    sec(5),
                    sec(10),
                    sec(30),
                    sec(60),
                    sec(120),
                    sec(300),
                    sec(600))
            .register(registry);

    /** The last cold starts, for the status page's chart (the histogram above has no order in time). */
    private final ArrayDeque<ColdStart> recentColdStarts = new ArrayDeque<>();

    static final int RECENT_COLD_STARTS = 50;

    record ColdStart(Instant readyAt, long millis) {}

    record QueueWaits(long count, double meanMillis, double maxMillis) {}

    private static Duration sec(double s) {
        return Duration.ofNanos((long) (s * 1e9));
    }

    void bindPool(WorkerPool pool) {
        Gauge.builder("catnap.gateway.in.flight", pool, p -> p.counts().inFlight())
                .description("Requests being served by workers")
                .register(registry);
        Gauge.builder("catnap.gateway.queued", pool, p -> p.counts().queued())
                .description("Requests waiting for a worker slot")
                .register(registry);
        Gauge.builder("catnap.gateway.workers", pool, p -> p.counts().starting())
                .tag("state", "starting")
                .description("Workers by state")
                .register(registry);
        Gauge.builder("catnap.gateway.workers", pool, p -> p.counts().ready())
                .tag("state", "ready")
                .description("Workers by state")
                .register(registry);
        Gauge.builder("catnap.gateway.workers", pool, p -> p.counts().stopping())
                .tag("state", "stopping")
                .description("Workers by state")
                .register(registry);
        FunctionCounter.builder(
                        "catnap.gateway.worker.seconds", pool, p -> p.counts().workerSeconds())
                .description("Seconds of worker lifetime, summed over workers: the cost of the accelerators")
                .register(registry);
    }

    void request(int status) {
        requestsByStatus
                .computeIfAbsent(
                        status,
                        s -> Counter.builder("catnap.gateway.requests")
                                .description("Requests answered, by HTTP status")
                                .tag("status", Integer.toString(s))
                                .register(registry))
                .increment();
    }

    void coldStart() {
        coldStarts.increment();
    }

    void coldStartSeconds(long nanos) {
        coldStartTime.record(nanos, TimeUnit.NANOSECONDS);
        synchronized (recentColdStarts) {
            recentColdStarts.addLast(new ColdStart(Instant.now(), TimeUnit.NANOSECONDS.toMillis(nanos)));
            while (recentColdStarts.size() > RECENT_COLD_STARTS) recentColdStarts.removeFirst();
        }
    }

    List<ColdStart> recentColdStarts() {
        synchronized (recentColdStarts) {
            return List.copyOf(recentColdStarts);
        }
    }

    long coldStartCount() {
        return (long) coldStarts.count();
    }

    long startFailureCount() {
        return (long) startFailures.count();
    }

    /** Requests answered so far, by HTTP status. */
    Map<Integer, Long> requestsByStatus() {
        Map<Integer, Long> out = new TreeMap<>();
        requestsByStatus.forEach((status, c) -> out.put(status, (long) c.count()));
        return out;
    }

    /** Mean since start; max over the timer's recent window (Micrometer decays it after a few minutes). */
    QueueWaits queueWaits() {
        return new QueueWaits(
                queueWait.count(), queueWait.mean(TimeUnit.MILLISECONDS), queueWait.max(TimeUnit.MILLISECONDS));
    }

    void queueWait(long nanos) {
        queueWait.record(nanos, TimeUnit.NANOSECONDS);
    }

    void startFailure() {
        startFailures.increment();
    }

    void crash() {
        crashes.increment();
    }

    void scaleDown() {
        scaleDowns.increment();
    }

    String scrape() {
        return registry.scrape();
    }
}
