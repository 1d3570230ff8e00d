package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** No orphans: a gateway stopped by SIGTERM drains and stops its workers; one killed by SIGKILL leaves none behind. */
@Timeout(60)
class GatewayShutdownTest {
    @TempDir
    Path tmp;

    private Process gateway;

    @AfterEach
    void cleanUp() {
        if (gateway != null) gateway.destroyForcibly();
    }

    private int startGateway(Path events) throws Exception {
        var pb = new ProcessBuilder(javaCommand(TestGatewayMain.class.getName(), tmp.toString(), "events=" + events))
                .redirectError(tmp.resolve("gateway.log").toFile());
        gateway = pb.start();
        BufferedReader out =
                new BufferedReader(new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line)
                .as("gateway output; log: %s", Files.readString(tmp.resolve("gateway.log")))
                .startsWith("PORT ");
        return Integer.parseInt(line.substring(5));
    }

    private static long workerPid(Path events) throws Exception {
        return Long.parseLong(Files.readAllLines(events).getFirst().split(" ")[1]);
    }

    @Test
    void sigtermDrainsInFlightRequestsStopsWorkersAndExitsZero() throws Exception {
        Path events = tmp.resolve("events");
        int port = startGateway(events);
        URI slow = URI.create("http://127.0.0.1:" + port + "/slow?ms=1500");
        CompletableFuture<HttpResponse<String>> inFlight =
                CLIENT.sendAsync(HttpRequest.newBuilder(slow).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(eventually(
                        Duration.ofSeconds(20),
                        () -> Files.exists(events) && !Files.readString(events).isEmpty()))
                .isTrue();
        long worker = workerPid(events);
        Thread.sleep(700); // the request is now in the worker
        ProcessHandle.of(gateway.pid()).orElseThrow().destroy(); // SIGTERM
        assertThat(inFlight.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(gateway.waitFor(15, TimeUnit.SECONDS)).isTrue();
        assertThat(gateway.exitValue()).isZero();
        assertThat(alive(worker)).isFalse();
        assertThat(Files.readString(events)).contains("term " + worker);
    }

    @Test
    void workersExitByThemselvesWithin5sWhenTheGatewayIsKilled() throws Exception {
        Path events = tmp.resolve("events");
        int port = startGateway(events);
        HttpResponse<String> r = CLIENT.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/pid"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        long worker = workerPid(events);
        assertThat(alive(worker)).isTrue();
        gateway.destroyForcibly(); // SIGKILL: no shutdown hook runs
        gateway.waitFor(5, TimeUnit.SECONDS);
        long killedAt = System.nanoTime();
        assertThat(eventually(Duration.ofSeconds(5), () -> !alive(worker))).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(5));
    }
}
