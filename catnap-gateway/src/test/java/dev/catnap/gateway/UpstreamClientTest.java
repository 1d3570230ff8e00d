package dev.catnap.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** HTTP/1.1 framing and connection reuse against a scripted server that writes exact bytes. */
@Timeout(20)
class UpstreamClientTest {
    private final UpstreamClient client = new UpstreamClient();
    private ScriptedServer server;

    @AfterEach
    void tearDown() throws IOException {
        client.close();
        if (server != null) server.close();
    }

    /** Answers each request on a connection with {@code script.apply(requestHead)}; closes after it if told. */
    static final class ScriptedServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger connections = new AtomicInteger();
        final List<String> requests = new CopyOnWriteArrayList<>();

        ScriptedServer(Function<String, String> script, boolean closeAfterEach) throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        connections.incrementAndGet();
                        Thread.ofVirtual().start(() -> serve(s, script, closeAfterEach));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s, Function<String, String> script, boolean closeAfterEach) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                while (true) {
                    StringBuilder head = new StringBuilder();
                    int b;
                    while (!head.toString().endsWith("\r\n\r\n") && (b = in.read()) >= 0) head.append((char) b);
                    if (head.isEmpty()) return;
                    String h = head.toString();
                    int cl = h.toLowerCase().indexOf("content-length: ");
                    String body = "";
                    if (cl >= 0) {
                        int n = Integer.parseInt(h.substring(cl + 16, h.indexOf("\r\n", cl)));
                        body = new String(in.readNBytes(n), StandardCharsets.ISO_8859_1);
                    }
                    requests.add(h + body);
                    out.write(script.apply(h).getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                    if (closeAfterEach) return;
                }
            } catch (IOException ignored) {
                // client went away
            }
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static UpstreamClient.Request get(String target) {
        return new UpstreamClient.Request("GET", target, List.of(), null, null, -1);
    }

    private String body(UpstreamClient.Request req) throws IOException {
        try (UpstreamClient.Response r = client.send(server.port(), req)) {
            String body = new String(r.body().readAllBytes(), StandardCharsets.UTF_8);
            r.completed();
            return r.status + " " + body;
        }
    }

    @Test
    void contentLengthBodiesReuseOneConnection() throws Exception {
        server = new ScriptedServer(h -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello", false);
        for (int i = 0; i < 5; i++) assertThat(body(get("/x?i=" + i))).isEqualTo("200 hello");
        assertThat(server.connections.get()).isEqualTo(1);
        assertThat(server.requests.getFirst())
                .startsWith("GET /x?i=0 HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\n");
    }

    @Test
    void chunkedBodiesWithExtensionsAndTrailersAreDechunked() throws Exception {
        server = new ScriptedServer(
                h -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
                false);
        assertThat(body(get("/a"))).isEqualTo("200 hello, world");
        assertThat(body(get("/b"))).isEqualTo("200 hello, world");
        assertThat(server.connections.get()).isEqualTo(1);
    }

    @Test
    void headAnd204And304HaveNoBodyWhateverTheirHeadersSay() throws Exception {
        server = new ScriptedServer(
                h -> h.startsWith("HEAD")
                        ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
                        : h.startsWith("GET /204")
                                ? "HTTP/1.1 204 No Content\r\n\r\n"
                                : "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false);
        assertThat(body(new UpstreamClient.Request("HEAD", "/", List.of(), null, null, -1)))
                .isEqualTo("200 ");
        assertThat(body(get("/204"))).isEqualTo("204 ");
        assertThat(body(get("/304"))).isEqualTo("304 ");
        assertThat(server.connections.get()).isEqualTo(1);
    }

    @Test
    void aBodyDelimitedByCloseIsReadToTheEndAndTheConnectionIsNotReused() throws Exception {
        server = new ScriptedServer(h -> "HTTP/1.1 200 OK\r\n\r\nuntil close", true);
        assertThat(body(get("/1"))).isEqualTo("200 until close");
        assertThat(body(get("/2"))).isEqualTo("200 until close");
        assertThat(server.connections.get()).isEqualTo(2);
    }

    @Test
    void aKeptAliveConnectionTheWorkerClosedIsRetriedOnAFreshOne() throws Exception {
        // the worker says keep-alive but closes anyway: the next request finds a dead pooled connection
        server = new ScriptedServer(h -> "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true);
        assertThat(body(get("/1"))).isEqualTo("200 ok");
        Thread.sleep(100);
        byte[] payload = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);
        assertThat(body(new UpstreamClient.Request("POST", "/2", List.of(), payload, null, -1)))
                .isEqualTo("200 ok");
        assertThat(server.requests.get(1)).endsWith("Content-Length: 7\r\n\r\n{\"a\":1}");
        assertThat(server.connections.get()).isEqualTo(2);
    }

    @Test
    void streamedRequestBodiesOfUnknownLengthAreSentChunked() throws Exception {
        List<String> seen = new ArrayList<>();
        server = new ScriptedServer(
                h -> {
                    seen.add(h);
                    return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                },
                true);
        var req = new UpstreamClient.Request(
                "POST",
                "/up",
                List.of(new UpstreamClient.Header("X-A", "b")),
                null,
                new ByteArrayInputStream("abc".getBytes(StandardCharsets.UTF_8)),
                -1);
        assertThat(body(req)).isEqualTo("200 ");
        assertThat(seen.getFirst()).contains("X-A: b\r\n").contains("Transfer-Encoding: chunked\r\n");
    }

    @Test
    void interimContinueAnswersAreSkippedAndTheFinalStatusLineIsCheckedLikeTheFirst() throws Exception {
        server = new ScriptedServer(
                h -> h.startsWith("GET /ok")
                        ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"
                        : "HTTP/1.1 100 Continue\r\n\r\nSSH-2.0-OpenSSH\r\n\r\n",
                true);
        assertThat(body(get("/ok"))).isEqualTo("201 ok");
        assertThatThrownBy(() -> client.send(server.port(), get("/garbage")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no HTTP status line");
    }

    @Test
    void garbageAndTruncatedAnswersAreErrorsNotHangs() throws Exception {
        server = new ScriptedServer(
                h -> h.startsWith("GET /garbage")
                        ? "SSH-2.0-OpenSSH\r\n\r\n"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                true);
        assertThatThrownBy(() -> client.send(server.port(), get("/garbage")))
                .hasMessageContaining("no HTTP status line");
        try (UpstreamClient.Response r = client.send(server.port(), get("/short"))) {
            assertThatThrownBy(() -> r.body().readAllBytes()).hasMessageContaining("5 bytes of the body unsent");
        }
        int nobody;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            nobody = s.getLocalPort(); // closed before anyone accepts on it: connects are refused
        }
        assertThatThrownBy(() -> client.send(nobody, get("/gone"))).isInstanceOf(IOException.class);
    }
}
