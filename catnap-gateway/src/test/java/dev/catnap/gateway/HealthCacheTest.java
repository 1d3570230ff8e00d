package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Editors' periodic health checks neither start a worker nor keep one warm. */
@Timeout(60)
class HealthCacheTest {
    @TempDir
    Path tmp;

    private static HttpResponse<String> health(Gateway g, String method, String auth) throws Exception {
        var b = HttpRequest.newBuilder(uri(g, "/v1/health")).method(method, HttpRequest.BodyPublishers.noBody());
        if (auth != null) b.header("Authorization", auth);
        return send(g, b.build());
    }

    @Test
    void healthIsAnsweredFromTheLastBodySeenWithoutWakingAWorker() throws Exception {
        var s = new Settings(worker(), tmp);
        s.scaledown = Duration.ofMillis(800);
        String body;
        try (Gateway g = Gateway.start(s.config())) {
            HttpResponse<String> first = health(g, "GET", "Bearer t1");
            assertThat(first.statusCode()).isEqualTo(200);
            body = first.body();
            assertThat(json(first).get("version").get("git_describe").asText()).isEqualTo("t");
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(1.0);
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> status(g).get("workers").isEmpty()))
                    .isTrue();

            for (String method : new String[] {"GET", "POST"}) {
                HttpResponse<String> again = health(g, method, "Bearer t1");
                assertThat(again.statusCode()).isEqualTo(200);
                assertThat(again.body()).isEqualTo(body);
                assertThat(again.headers().firstValue("Content-Type").orElse(""))
                        .startsWith("application/json");
            }
            assertThat(status(g).get("workers")).isEmpty();
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(1.0);

            // another credential was never checked by a worker: it goes through
            assertThat(health(g, "GET", "Bearer other").statusCode()).isEqualTo(200);
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(2.0);
        }
        // kept on disk: a restarted gateway still answers without a worker
        try (Gateway g = Gateway.start(s.config())) {
            HttpResponse<String> r = health(g, "GET", "Bearer other");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(0.0);
        }
    }

    @Test
    void periodicHealthChecksDoNotKeepAWorkerWarm() throws Exception {
        var s = new Settings(worker(), tmp);
        s.scaledown = Duration.ofMillis(1000);
        try (Gateway g = Gateway.start(s.config())) {
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
            long t0 = System.nanoTime();
            boolean stopped = false;
            while (System.nanoTime() - t0 < Duration.ofSeconds(5).toNanos()) {
                assertThat(health(g, "GET", null).statusCode()).isEqualTo(200);
                if (status(g).get("workers").isEmpty()) {
                    stopped = true;
                    break;
                }
                Thread.sleep(150);
            }
            assertThat(stopped).isTrue();
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(1.0);
        }
    }
}
