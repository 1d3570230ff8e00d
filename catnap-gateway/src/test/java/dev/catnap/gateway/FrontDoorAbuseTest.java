package dev.catnap.gateway;

import static dev.catnap.gateway.TestGateways.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad input and slow clients at the front door: each gets a clear answer, and others are served meanwhile. */
@Timeout(60)
class FrontDoorAbuseTest {
    @TempDir
    Path tmp;

    private Gateway start(FrontDoor door) throws Exception {
        Gateway g = Gateway.start(new Settings(worker(), tmp).config(), door);
        assertThat(get(g, "/pid").statusCode()).isEqualTo(200); // warm: what follows is about the front door only
        return g;
    }

    private static JsonNode error(String response) throws Exception {
        return JSON.readTree(RawHttp.body(response)).get("error");
    }

    @Test
    void aBodyOverTheLimitIs413WithAJsonMessageAndNoWorkerIsStarted() throws Exception {
        try (Gateway g = Gateway.start(new Settings(worker(), tmp).config(), FrontDoor.open())) {
            String body = "{\"x\":\"" + "a".repeat(3_000_000) + "\"}";
            HttpResponse<String> r = send(
                    g,
                    HttpRequest.newBuilder(uri(g, "/v1/completions"))
                            .POST(HttpRequest.BodyPublishers.ofString(body))
                            .header("Content-Type", "application/json")
                            .build());
            assertThat(r.statusCode()).isEqualTo(413);
            JsonNode e = json(r).get("error");
            assertThat(e.get("message").asText()).isEqualTo("request body exceeds 1048576 bytes");
            assertThat(e.get("type").asText()).isEqualTo("payload_too_large");
            assertThat(e.get("code").asInt()).isEqualTo(413);
            assertThat(metric(g, "catnap_gateway_cold_starts_total")).isEqualTo(0.0);

            // chunked, so no length is declared: counted on the way, refused all the same
            String chunked = RawHttp.exchange(g.port(), chunkedRequest("/echo", 1_100_000), 10_000);
            assertThat(RawHttp.status(chunked)).isEqualTo(413);
            assertThat(error(chunked).get("message").asText()).isEqualTo("request body exceeds 1048576 bytes");
        }
    }

    private static byte[] chunkedRequest(String path, int bytes) {
        StringBuilder sb = new StringBuilder(
                "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        int chunk = 64 * 1024;
        for (int sent = 0; sent < bytes; sent += chunk) {
            int n = Math.min(chunk, bytes - sent);
            sb.append(Integer.toHexString(n))
                    .append("\r\n")
                    .append("b".repeat(n))
                    .append("\r\n");
        }
        sb.append("0\r\n\r\n");
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void bodiesLargerThanTheReplayBufferAreStreamedUpToTheLimit() throws Exception {
        try (Gateway g = start(FrontDoor.open().withMaxBodyBytes(4_000_000))) {
            int n = 3_000_000; // the 3 MB body, under a raised limit
            HttpResponse<String> r = send(
                    g,
                    HttpRequest.newBuilder(uri(g, "/echo"))
                            .POST(HttpRequest.BodyPublishers.ofString("c".repeat(n)))
                            .build());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(json(r).get("body").asText()).hasSize(n);

            String chunked = RawHttp.exchange(g.port(), chunkedRequest("/echo", 600_000), 10_000);
            assertThat(RawHttp.status(chunked)).isEqualTo(200);
            assertThat(JSON.readTree(RawHttp.body(chunked)).get("body").asText())
                    .hasSize(600_000);
            // a small chunked body is read whole and sent with a length
            String small = RawHttp.exchange(g.port(), chunkedRequest("/echo", 1000), 10_000);
            assertThat(JSON.readTree(RawHttp.body(small))
                            .at("/headers/content-length")
                            .asText())
                    .isEqualTo("1000");
        }
    }

    /** The bad requests of the issue, each sent while a slow good request is in flight, which still succeeds. */
    @Test
    void malformedRequestsGetA4xxJsonAnswerWhileAGoodRequestSucceeds() throws Exception {
        try (Gateway g = start(FrontDoor.open());
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            Future<HttpResponse<String>> good = ex.submit(() -> get(g, "/slow?ms=1500"));
            Thread.sleep(100);
            String[][] cases = {
                {"garbage", "\u0001\u0002 nonsense \r\n\r\n"},
                {"bad request line", "GET\r\n\r\n"},
                {"negative length", "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"},
                {
                    "huge length",
                    "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
                },
                {
                    "two lengths",
                    "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"
                },
                {
                    "bad chunk size",
                    "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
                },
                {"header without colon", "GET /pid HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n"},
            };
            for (String[] c : cases) {
                String r = RawHttp.exchange(g.port(), c[1], 5_000);
                assertThat(RawHttp.status(r)).as(c[0] + ": " + r).isBetween(400, 499);
                assertThat(error(r).get("code").asInt()).as(c[0]).isEqualTo(RawHttp.status(r));
                assertThat(error(r).get("message").asText()).as(c[0]).isNotBlank();
            }
            // the one refusal outside 4xx, as HTTP says: an unknown version is 505
            String version = RawHttp.exchange(g.port(), "GET / HTTP/9.9\r\nHost: x\r\n\r\n", 5_000);
            assertThat(RawHttp.status(version)).isEqualTo(505);
            assertThat(error(version).get("type").asText()).isEqualTo("http_version_not_supported");
            String big = RawHttp.exchange(
                    g.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000000\r\n\r\n", 5_000);
            assertThat(RawHttp.status(big)).isEqualTo(413);
            assertThat(error(big).get("message").asText()).isEqualTo("request body exceeds 1048576 bytes");

            for (String method : new String[] {"FOO", "TRACE", "CONNECT", "PROPFIND"}) {
                String r = RawHttp.exchange(g.port(), method + " /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 5_000);
                assertThat(RawHttp.status(r)).as(method + ": " + r).isBetween(400, 499);
                assertThat(error(r).get("message").asText()).as(method).isNotBlank();
            }
            assertThat(good.get().statusCode()).isEqualTo(200);
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void oversizedHeadersAre431() throws Exception {
        try (Gateway g = start(FrontDoor.open())) {
            String r = RawHttp.exchange(
                    g.port(), "GET /pid HTTP/1.1\r\nHost: x\r\nX-Big: " + "h".repeat(20_000) + "\r\n\r\n", 5_000);
            assertThat(RawHttp.status(r)).as(r).isEqualTo(431);
            assertThat(error(r).get("code").asInt()).isEqualTo(431);
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
        }
    }

    private static FrontDoor quick() {
        return FrontDoor.open().withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1));
    }

    /** Trickles {@code text} a byte every {@code gapMs}; returns how long until the server closed the connection. */
    private static Duration trickle(int port, String text, long gapMs, Duration max) throws Exception {
        long t0 = System.nanoTime();
        try (Socket s = new Socket("127.0.0.1", port)) {
            OutputStream out = s.getOutputStream();
            s.setSoTimeout(50);
            for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
                if (System.nanoTime() - t0 > max.toNanos()) break;
                try {
                    out.write(b);
                    out.flush();
                } catch (java.io.IOException closed) {
                    break;
                }
                try {
                    if (s.getInputStream().read() < 0) break; // closed by the server
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // nothing yet
                } catch (java.io.IOException reset) {
                    break;
                }
                Thread.sleep(gapMs);
            }
        }
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    @Test
    void aHeadTrickledAByteAtATimeIsCutOffAtTheHeadTimeout() throws Exception {
        try (Gateway g = start(quick());
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            String head = "GET /pid HTTP/1.1\r\nHost: x\r\nX-Slow: " + "s".repeat(400) + "\r\n\r\n";
            Future<Duration> slow = ex.submit(() -> trickle(g.port(), head, 100, Duration.ofSeconds(20)));
            Thread.sleep(300);
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200); // others are served meanwhile
            // the idle timeout (2 s) never fires, a byte comes every 100 ms: the head timeout (1 s) does
            assertThat(slow.get()).isBetween(Duration.ofMillis(900), Duration.ofSeconds(5));
        }
    }

    @Test
    void aBodyTrickledAByteAtATimeIsCutOffWithoutHoldingAWorkerSlot() throws Exception {
        var s = new Settings(worker(), tmp);
        s.maxInputs = 1;
        try (Gateway g = Gateway.start(s.config(), quick());
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
            String request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n" + "b".repeat(200);
            Future<Duration> slow = ex.submit(() -> trickle(g.port(), request, 20, Duration.ofSeconds(20)));
            Thread.sleep(1000); // the head is in, the body is trickling
            // the only slot of the only worker is free: the trickling body holds none
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
            assertThat(json(get(g, "/gateway/status")).get("in_flight").asInt()).isZero();
            assertThat(slow.get()).isBetween(Duration.ofMillis(900), Duration.ofSeconds(6));
        }
    }

    @Test
    void aSilentConnectionIsClosedAtTheIdleTimeout() throws Exception {
        try (Gateway g = start(quick());
                Socket s = new Socket("127.0.0.1", g.port())) {
            s.setSoTimeout(10_000);
            long t0 = System.nanoTime();
            assertThat(s.getInputStream().read()).isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - t0))
                    .isBetween(Duration.ofMillis(1500), Duration.ofSeconds(6));
        }
    }

    @Test
    void aChunkedBodyThatNeverEndsIsCutOff() throws Exception {
        try (Gateway g = start(quick());
                Socket s = new Socket("127.0.0.1", g.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long t0 = System.nanoTime();
            String r = RawHttp.readResponse(s.getInputStream()); // the final chunk never comes
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(6));
            assertThat(r)
                    .satisfiesAnyOf(
                            x -> assertThat(x).isEmpty(),
                            x -> assertThat(RawHttp.status(x)).isBetween(400, 499));
            assertThat(json(get(g, "/gateway/status")).get("in_flight").asInt()).isZero();
            assertThat(get(g, "/pid").statusCode()).isEqualTo(200);
        }
    }
}
