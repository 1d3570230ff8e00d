package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What passes through the proxy, streaming, cancellation, admission and scale-out. */
@Timeout(60)
class GatewayProxyTest {
    @TempDir
    Path tmp;

    @Test
    void methodPathQueryHeadersAndBodyPassThroughWithoutHopByHopHeaders() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config())) {
            HttpRequest req = HttpRequest.newBuilder(uri(g, "/some/p%20ath?x=1&y=%C3%A9"))
                    .method("PUT", HttpRequest.BodyPublishers.ofString("{\"hello\":\"wörld\"}"))
                    .header("Content-Type", "application/json")
                    .header("Authorization", "Bearer secret")
                    .header("X-Custom", "kept")
                    .header("X-Forwarded-For", "10.1.2.3")
                    .header("Te", "trailers")
                    .header("Proxy-Authorization", "Basic nope")
                    .header("Trailer", "X-Foo")
                    .build();
            HttpResponse<String> r = send(g, req);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("X-Worker")).hasValue("test");
            assertThat(r.headers().allValues("Content-Type")).containsExactly("application/json");
            JsonNode echo = json(r);
            assertThat(echo.get("method").asText()).isEqualTo("PUT");
            assertThat(echo.get("path").asText()).isEqualTo("/some/p%20ath");
            assertThat(echo.get("query").asText()).isEqualTo("x=1&y=%C3%A9");
            assertThat(echo.get("body").asText()).isEqualTo("{\"hello\":\"wörld\"}");
            JsonNode h = echo.get("headers");
            assertThat(h.get("authorization").asText()).isEqualTo("Bearer secret");
            assertThat(h.get("x-custom").asText()).isEqualTo("kept");
            assertThat(h.get("content-type").asText()).isEqualTo("application/json");
            assertThat(h.get("x-forwarded-for").asText()).isEqualTo("10.1.2.3, 127.0.0.1");
            assertThat(h.get("x-forwarded-proto").asText()).isEqualTo("http");
            assertThat(h.get("x-forwarded-host").asText()).isEqualTo("127.0.0.1:" + g.port());
            assertThat(h.has("te")).isFalse();
            assertThat(h.has("proxy-authorization")).isFalse();
            assertThat(h.has("trailer")).isFalse();
        }
    }

    @Test
    void headersNamedInConnectionAreDroppedAndLargeBodiesStreamBothWays() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config());
                Socket s = new Socket("127.0.0.1", g.port())) {
            String body = "x".repeat(600_000);
            String head = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n"
                    + "Keep-Alive: timeout=5\r\nContent-Length: " + body.length() + "\r\n\r\n";
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
            long length = -1;
            for (String line; !(line = in.readLine()).isEmpty(); ) {
                if (line.toLowerCase().startsWith("content-length:"))
                    length = Long.parseLong(line.substring(15).trim());
            }
            char[] buf = new char[(int) length];
            int off = 0;
            while (off < length) off += in.read(buf, off, (int) length - off);
            JsonNode echo = JSON.readTree(new String(buf));
            assertThat(echo.get("body").asText()).hasSize(600_000);
            assertThat(echo.get("headers").has("x-hop")).isFalse();
            assertThat(echo.get("headers").has("keep-alive")).isFalse();

            HttpResponse<byte[]> big = CLIENT.send(
                    HttpRequest.newBuilder(uri(g, "/big?bytes=3000000")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(big.body()).hasSize(3_000_000);
            assertThat(big.body()[2_999_999]).isEqualTo((byte) ('a' + 2_999_999 % 26));
        }
    }

    @Test
    void serverSentEventsReachTheClientAsTheWorkerEmitsThem() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config())) {
            get(g, "/pid"); // warm
            HttpResponse<Stream<String>> r = CLIENT.send(
                    HttpRequest.newBuilder(uri(g, "/sse?n=6&interval=100")).build(),
                    HttpResponse.BodyHandlers.ofLines());
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
            List<Long> arrivals = new ArrayList<>();
            long t0 = System.nanoTime();
            r.body()
                    .filter(l -> l.startsWith("data: "))
                    .forEach(l -> arrivals.add((System.nanoTime() - t0) / 1_000_000));
            assertThat(arrivals).hasSize(7);
            // buffered output would deliver everything at the end; streamed output keeps the 100 ms spacing
            for (int i = 1; i < 6; i++) {
                assertThat(arrivals.get(i) - arrivals.get(i - 1))
                        .as("gap before event %d", i)
                        .isBetween(40L, 400L);
            }
            assertThat(arrivals.get(5) - arrivals.get(0)).isGreaterThanOrEqualTo(400L);
        }
    }

    @Test
    void clientDisconnectCancelsTheUpstreamRequest() throws Exception {
        Path events = tmp.resolve("events");
        try (Gateway g = Gateway.start(new Settings(worker("events=" + events), tmp).config())) {
            try (Socket s = new Socket("127.0.0.1", g.port())) {
                s.getOutputStream()
                        .write("GET /sse?n=100&interval=100 HTTP/1.1\r\nHost: x\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                BufferedReader in =
                        new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                int data = 0;
                for (String line; data < 2 && (line = in.readLine()) != null; ) if (line.startsWith("data: ")) data++;
                assertThat(data).isEqualTo(2);
            }
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> Files.exists(events)
                                    && Files.readString(events).contains("cancelled /sse")))
                    .isTrue();
            assertThat(eventually(
                            Duration.ofSeconds(5),
                            () -> status(g).get("in_flight").asInt() == 0))
                    .isTrue();
        }
    }

    @Test
    void workerDyingMidStreamTerminatesTheClientStream() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config());
                Socket s = new Socket("127.0.0.1", g.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream()
                    .write("GET /crash-stream HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] all = s.getInputStream().readAllBytes(); // returns once the gateway closes the connection
            String text = new String(all, StandardCharsets.UTF_8);
            assertThat(text).startsWith("HTTP/1.1 200").contains("data: first");
            // no terminating zero-length chunk: the client can tell the stream was cut
            assertThat(text).doesNotEndWith("0\r\n\r\n");
        }
    }

    @Test
    void aWorkerNeverHoldsMoreThanMaxInputsAndAFullQueueAnswers503WithRetryAfter() throws Exception {
        var s = new Settings(worker(), tmp);
        s.maxInputs = 2;
        s.maxQueue = 2;
        try (Gateway g = Gateway.start(s.config())) {
            get(g, "/pid"); // warm, so that the timing below is about admission only
            List<Integer> codes = new ArrayList<>();
            List<HttpResponse<String>> rejected = new ArrayList<>();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<HttpResponse<String>>> fs = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    fs.add(ex.submit(() -> get(g, "/slow?ms=1000")));
                    Thread.sleep(50);
                }
                for (var f : fs) {
                    codes.add(f.get().statusCode());
                    if (f.get().statusCode() == 503) rejected.add(f.get());
                }
            }
            assertThat(codes.stream().filter(c -> c == 200)).hasSize(4);
            assertThat(rejected).hasSize(2).allSatisfy(r -> {
                assertThat(r.headers().firstValue("Retry-After")).isPresent();
                assertThat(r.body()).contains("queue is full");
                // the error shape of catnap serve: the status as "code"
                JsonNode error = JSON.readTree(r.body()).get("error");
                assertThat(error.get("code").asInt()).isEqualTo(503);
                assertThat(error.get("type").asText()).isEqualTo("gateway_error");
                assertThat(error.has("status")).isFalse();
            });
            assertThat(json(get(g, "/stats")).get("max_concurrent").asInt()).isEqualTo(2);
            assertThat(metric(g, "catnap_gateway_queue_wait_seconds_count")).isGreaterThanOrEqualTo(4.0);
        }
    }

    @Test
    void waitingPastTheQueueTimeoutAnswers503() throws Exception {
        var s = new Settings(worker(), tmp);
        s.maxInputs = 1;
        s.queueTimeout = Duration.ofMillis(500);
        try (Gateway g = Gateway.start(s.config());
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            get(g, "/pid");
            Future<HttpResponse<String>> busy = ex.submit(() -> get(g, "/slow?ms=2000"));
            Thread.sleep(200);
            HttpResponse<String> r = get(g, "/pid");
            assertThat(r.statusCode()).isEqualTo(503);
            assertThat(r.headers().firstValue("Retry-After")).isPresent();
            assertThat(json(r).at("/error/message").asText()).contains("no worker slot became free");
            assertThat(busy.get().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void beyondMaxInputsAnotherWorkerStartsUpToMaxWorkers() throws Exception {
        var s = new Settings(worker(), tmp);
        s.maxInputs = 1;
        s.maxWorkers = 3;
        try (Gateway g = Gateway.start(s.config());
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < 5; i++) fs.add(ex.submit(() -> get(g, "/slow?ms=1500")));
            Set<Long> pids = new HashSet<>();
            for (var f : fs) {
                assertThat(f.get().statusCode()).isEqualTo(200);
                pids.add(json(f.get()).get("pid").asLong());
            }
            assertThat(pids).hasSize(3);
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(3.0);
        }
    }
}
