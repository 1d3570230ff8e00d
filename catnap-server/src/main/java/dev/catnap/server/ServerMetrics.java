package dev.catnap.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/** The server's Prometheus metrics: HTTP requests and latency, tokens generated, queue depth, batch occupancy. */
final class ServerMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    void watch(String role, Admission admission) {
        Gauge.builder("catnap.queue.depth", admission, Admission::waiting)
                .description("requests waiting for a generation slot")
                .tag("model", role)
                .register(registry);
        Gauge.builder("catnap.generations.active", admission, Admission::running)
                .description("generations running in the engine's batch")
                .tag("model", role)
                .register(registry);
        Gauge.builder("catnap.batch.occupancy", admission, a -> (double) a.running() / a.parallelism())
                .description("running generations / parallelism")
                .tag("model", role)
                .register(registry);
    }

    Counter tokens(String role) {
        return Counter.builder("catnap.tokens.generated")
                .description("tokens generated")
                .tag("model", role)
                .register(registry);
    }

    void request(String method, String route, int status, long nanos) {
        Timer.builder("catnap.http.requests")
                .description("HTTP requests by route and status")
                .tags("method", method, "route", route, "status", Integer.toString(status))
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(60))
                .register(registry)
                .record(Duration.ofNanos(nanos));
    }

    String scrape() {
        return registry.scrape();
    }
}
