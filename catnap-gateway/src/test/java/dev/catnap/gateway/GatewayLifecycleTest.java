package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Start, readiness, failure, timeout, idle stop and crash, each on real worker processes. */
@Timeout(60)
class GatewayLifecycleTest {
    @TempDir
    Path tmp;

    private static <T> List<T> concurrently(int n, Callable<T> task) throws Exception {
        try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<T>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) fs.add(ex.submit(task));
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) out.add(f.get());
            return out;
        }
    }

    @Test
    void coldStartQueuesEveryRequestUntilTheWorkerIsReadyThenServesAll() throws Exception {
        var s = new Settings(worker("delay=1500"), tmp);
        try (Gateway g = Gateway.start(s.config())) {
            assertThat(status(g).get("workers")).isEmpty();
            List<HttpResponse<String>> rs = concurrently(6, () -> get(g, "/pid"));
            assertThat(rs).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
            assertThat(rs.stream().map(HttpResponse::body).distinct()).hasSize(1); // one worker served all
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(1.0);
            assertThat(metric(g, "catnap_gateway_cold_start_seconds_count")).isEqualTo(1.0);
        }
    }

    @Test
    void workerExitingBeforeReadyAnswers503WithExitCodeAndStderrThenCoolsDown() throws Exception {
        var s = new Settings(worker("fail=7"), tmp);
        s.failureLimit = 2;
        try (Gateway g = Gateway.start(s.config())) {
            List<HttpResponse<String>> first = concurrently(3, () -> get(g, "/pid"));
            for (HttpResponse<String> r : first) {
                assertThat(r.statusCode()).isEqualTo(503);
                String msg = json(r).at("/error/message").asText();
                assertThat(msg).contains("exited with code 7").contains("fatal: cannot start (test)");
            }
            // the next request tries a fresh start
            HttpResponse<String> second = get(g, "/pid");
            assertThat(second.statusCode()).isEqualTo(503);
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(2.0);
            // two quick failures in a row: fail fast, without starting anything
            HttpResponse<String> third = get(g, "/pid");
            assertThat(third.statusCode()).isEqualTo(503);
            assertThat(third.headers().firstValue("Retry-After")).isPresent();
            assertThat(json(third).at("/error/message").asText())
                    .contains("failed to start 2 times")
                    .contains("code 7");
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(2.0);
        }
    }

    @Test
    void workerNeverReadyIsKilledAtTheStartupTimeout() throws Exception {
        Path events = tmp.resolve("events");
        var s = new Settings(worker("never", "events=" + events), tmp);
        s.startupTimeout = Duration.ofMillis(1500);
        try (Gateway g = Gateway.start(s.config())) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = get(g, "/pid");
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(Duration.ofMillis(1400));
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(json(r).at("/error/message").asText()).contains("not ready within the startup timeout");
            long pid = Long.parseLong(Files.readAllLines(events).getFirst().split(" ")[1]);
            assertThat(eventually(Duration.ofSeconds(5), () -> !alive(pid))).isTrue();
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> status(g).get("workers").isEmpty()))
                    .isTrue();
        }
    }

    @Test
    void idleWorkerIsStoppedAfterTheScaledownWindowAndTheNextRequestStartsANewOne() throws Exception {
        Path events = tmp.resolve("events");
        var s = new Settings(worker("events=" + events), tmp);
        s.scaledown = Duration.ofMillis(1200);
        try (Gateway g = Gateway.start(s.config())) {
            long pid = json(get(g, "/slow?ms=300")).get("pid").asLong();
            long ended = System.nanoTime();
            assertThat(eventually(
                            Duration.ofSeconds(6),
                            () -> status(g).get("workers").isEmpty()))
                    .isTrue();
            // counted from the end of the last request, not its start
            assertThat(Duration.ofNanos(System.nanoTime() - ended)).isGreaterThanOrEqualTo(Duration.ofMillis(1100));
            assertThat(eventually(Duration.ofSeconds(5), () -> !alive(pid))).isTrue();
            assertThat(Files.readString(events)).contains("term " + pid); // SIGTERM, not a kill
            assertThat(metric(g, "catnap_gateway_scale_downs_total")).isEqualTo(1.0);
            assertThat(metric(g, "catnap_gateway_worker_seconds_total")).isGreaterThan(1.0);

            long next = json(get(g, "/pid")).get("pid").asLong();
            assertThat(next).isNotEqualTo(pid);
        }
    }

    @Test
    void workerThatIgnoresSigtermIsKilledAfterTheDrainTimeout() throws Exception {
        Path events = tmp.resolve("events");
        var s = new Settings(worker("ignoreTerm", "events=" + events), tmp);
        s.scaledown = Duration.ofMillis(500);
        s.drain = Duration.ofMillis(1000);
        try (Gateway g = Gateway.start(s.config())) {
            long pid = json(get(g, "/pid")).get("pid").asLong();
            assertThat(eventually(Duration.ofSeconds(8), () -> !alive(pid))).isTrue();
            assertThat(Files.readString(events)).contains("term-ignored " + pid);
        }
    }

    @Test
    void minWorkersStartWithoutRequestsAndStayWarm() throws Exception {
        var s = new Settings(worker(), tmp);
        s.minWorkers = 1;
        s.maxWorkers = 2;
        s.scaledown = Duration.ofMillis(300);
        try (Gateway g = Gateway.start(s.config())) {
            assertThat(eventually(
                            Duration.ofSeconds(10),
                            () -> status(g).get("workers").size() == 1
                                    && status(g).at("/workers/0/state").asText().equals("ready")))
                    .isTrue();
            Thread.sleep(1000);
            assertThat(status(g).get("workers")).hasSize(1);
            assertThat(status(g).at("/workers/0/state").asText()).isEqualTo("ready");
        }
    }

    @Test
    void crashMidRequestGives502AndTheNextRequestStartsAFreshWorker() throws Exception {
        var s = new Settings(worker(), tmp);
        try (Gateway g = Gateway.start(s.config())) {
            long pid = json(get(g, "/pid")).get("pid").asLong();
            HttpResponse<String> crashed = get(g, "/crash");
            assertThat(crashed.statusCode()).isEqualTo(502);
            assertThat(json(crashed).at("/error/message").asText()).contains("failed before answering");
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> status(g).get("workers").isEmpty()))
                    .isTrue();
            long next = json(get(g, "/pid")).get("pid").asLong();
            assertThat(next).isNotEqualTo(pid);
            assertThat(metric(g, "catnap_gateway_worker_crashes_total")).isEqualTo(1.0);
        }
    }

    @Test
    void statusListsEachWorkerWithPidPortStateAndTimes() throws Exception {
        var s = new Settings(worker(), tmp);
        try (Gateway g = Gateway.start(s.config())) {
            long pid = json(get(g, "/pid")).get("pid").asLong();
            JsonNode w = status(g).at("/workers/0");
            assertThat(w.get("pid").asLong()).isEqualTo(pid);
            assertThat(w.get("port").asInt()).isPositive();
            assertThat(w.get("state").asText()).isEqualTo("ready");
            assertThat(w.get("in_flight").asInt()).isZero();
            assertThat(w.get("started_at").asText()).isNotBlank();
            assertThat(w.get("last_used_at").asText()).isNotBlank();
            Set<String> names = new HashSet<>();
            for (String line : get(g, "/metrics").body().split("\n")) {
                if (!line.startsWith("#") && !line.isBlank()) names.add(line.replaceAll("[{ ].*", ""));
            }
            assertThat(names)
                    .contains(
                            "catnap_gateway_requests_total",
                            "catnap_gateway_cold_starts_total",
                            "catnap_gateway_cold_start_seconds_bucket",
                            "catnap_gateway_queue_wait_seconds_bucket",
                            "catnap_gateway_in_flight",
                            "catnap_gateway_workers",
                            "catnap_gateway_worker_seconds_total",
                            "catnap_gateway_scale_downs_total");
        }
    }
}
