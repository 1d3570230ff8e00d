package dev.catnap.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Polls a starting worker until it is ready, its process exits, or the startup timeout passes. */
final class ReadinessProbe {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    /** A refused loopback connect costs microseconds; every millisecond between polls is added to a cold start. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(10);

    sealed interface Outcome {
        record Ready() implements Outcome {}

        record Exited(int code) implements Outcome {}

        record TimedOut() implements Outcome {}
    }

    private final Readiness readiness;
    private final HttpClient http;

    ReadinessProbe(Readiness readiness, HttpClient http) {
        this.readiness = readiness;
        this.http = http;
    }

    Outcome await(WorkerProcess process, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!process.isAlive())
                return new Outcome.Exited(process.onExit().join().exitValue());
            if (isReady(process.port())) {
                // a process that bound the port and died at once is not ready
                return process.isAlive()
                        ? new Outcome.Ready()
                        : new Outcome.Exited(process.onExit().join().exitValue());
            }
            if (System.nanoTime() - deadline > 0) return new Outcome.TimedOut();
            try {
                process.onExit().get(POLL_INTERVAL.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                // still starting
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private boolean isReady(int port) throws InterruptedException {
        return switch (readiness) {
            case Readiness.Tcp() -> {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), (int) CONNECT_TIMEOUT.toMillis());
                    yield true;
                } catch (IOException e) {
                    yield false;
                }
            }
            case Readiness.Http(String path) -> {
                try {
                    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                            .timeout(CONNECT_TIMEOUT)
                            .GET()
                            .build();
                    int status = http.send(req, HttpResponse.BodyHandlers.discarding())
                            .statusCode();
                    yield status >= 200 && status < 300;
                } catch (IOException e) {
                    yield false;
                }
            }
        };
    }
}
