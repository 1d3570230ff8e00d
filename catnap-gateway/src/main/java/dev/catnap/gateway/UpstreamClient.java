package dev.catnap.gateway;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * HTTP/1.1 to workers on loopback over pooled keep-alive sockets, read and written by the calling virtual thread.
 *
 * <p>Why not a general client: a proxy relays bytes, it does not interpret them, and the JDK's HttpClient spent about
 * 200 µs of CPU per request here (Jetty's about 100 µs) against about 30 µs for a blocking socket, on a path every
 * editor keystroke takes. This client does only what relaying needs: framing by Content-Length, chunked encoding or
 * connection close, and connection reuse.
 */
final class UpstreamClient implements AutoCloseable {
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private final ConcurrentHashMap<Integer, ConcurrentLinkedDeque<Connection>> idle = new ConcurrentHashMap<>();

    record Header(String name, String value) {}

    /** A request head plus, when it has one, a body already in memory (replayable) or a stream of known framing. */
    record Request(
            String method, String target, List<Header> headers, byte[] body, InputStream bodyStream, long bodyLength) {
        boolean replayable() {
            return bodyStream == null;
        }
    }

    /** A response whose head has been read; {@link #body} yields the payload, de-framed. Close it when done. */
    static final class Response implements AutoCloseable {
        final int status;
        final List<Header> headers;
        private final Connection connection;
        private final UpstreamClient client;
        private final InputStream body;
        private final boolean reusable;
        private boolean done;

        private Response(UpstreamClient client, Connection c, int status, List<Header> headers, String method)
                throws IOException {
            this.client = client;
            this.connection = c;
            this.status = status;
            this.headers = headers;
            String te = header("transfer-encoding");
            String cl = header("content-length");
            boolean close = "close".equalsIgnoreCase(header("connection"));
            if (method.equals("HEAD") || status / 100 == 1 || status == 204 || status == 304) {
                body = InputStream.nullInputStream();
                reusable = !close;
            } else if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
                body = new ChunkedInputStream(c.in);
                reusable = !close;
            } else if (cl != null) {
                long length;
                try {
                    length = Long.parseLong(cl.strip());
                } catch (NumberFormatException e) {
                    throw new IOException("worker sent a bad Content-Length: " + cl);
                }
                body = new FixedLengthInputStream(c.in, length);
                reusable = !close;
            } else {
                body = c.in; // delimited by the worker closing the connection
                reusable = false;
            }
        }

        String header(String name) {
            for (Header h : headers) if (h.name.equalsIgnoreCase(name)) return h.value;
            return null;
        }

        InputStream body() {
            return body;
        }

        /** Marks the body as read to its end, so that the connection may serve another request. */
        void completed() {
            done = true;
        }

        @Override
        public void close() {
            if (done && reusable) {
                client.release(connection);
            } else {
                connection.close(); // unread or broken: closing it is also how the worker learns we gave up
            }
        }
    }

    /**
     * Sends {@code req} and reads the response head. A pooled connection the worker closed meanwhile is retried once on
     * a fresh one when the request can be replayed.
     */
    Response send(int port, Request req) throws IOException {
        Connection c = pooled(port);
        if (c != null) {
            try {
                return exchange(c, port, req);
            } catch (StaleConnectionException e) {
                c.close();
                if (!req.replayable()) throw new IOException("worker closed a kept-alive connection", e);
            } catch (IOException | RuntimeException e) {
                c.close();
                throw e;
            }
        }
        c = connect(port);
        try {
            return exchange(c, port, req);
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private Response exchange(Connection c, int port, Request req) throws IOException {
        writeRequest(c, port, req);
        int first = c.in.read();
        if (first < 0) {
            if (c.reused) throw new StaleConnectionException();
            throw new EOFException("worker closed the connection without answering");
        }
        int status = readStatus(c.in, first);
        List<Header> headers = readHeaders(c.in);
        while (status == 100) { // interim answer: the real one follows
            status = readStatus(c.in, c.in.read());
            headers = readHeaders(c.in);
        }
        return new Response(this, c, status, headers, req.method());
    }

    /** The status code of a status line whose first byte, {@code first}, is already read. */
    private static int readStatus(InputStream in, int first) throws IOException {
        String statusLine = readLine(in, first);
        if (!statusLine.startsWith("HTTP/1."))
            throw new IOException("worker sent no HTTP status line: " + abbreviate(statusLine));
        try {
            return Integer.parseInt(statusLine.substring(9, 12));
        } catch (RuntimeException e) {
            throw new IOException("worker sent a bad status line: " + abbreviate(statusLine));
        }
    }

    private static void writeRequest(Connection c, int port, Request req) throws IOException {
        StringBuilder head = new StringBuilder(512);
        head.append(req.method())
                .append(' ')
                .append(req.target())
                .append(" HTTP/1.1\r\nHost: 127.0.0.1:")
                .append(port)
                .append("\r\n");
        for (Header h : req.headers())
            head.append(h.name).append(": ").append(h.value).append("\r\n");
        boolean chunked = false;
        if (req.body() != null) {
            head.append("Content-Length: ").append(req.body().length).append("\r\n");
        } else if (req.bodyStream() != null) {
            if (req.bodyLength() >= 0) {
                head.append("Content-Length: ").append(req.bodyLength()).append("\r\n");
            } else {
                head.append("Transfer-Encoding: chunked\r\n");
                chunked = true;
            }
        }
        head.append("\r\n");
        c.out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (req.body() != null) {
            c.out.write(req.body());
        } else if (req.bodyStream() != null) {
            byte[] buf = new byte[16 * 1024];
            for (int n; (n = req.bodyStream().read(buf)) > 0; ) {
                if (chunked) c.out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                c.out.write(buf, 0, n);
                if (chunked) c.out.write(CRLF);
            }
            if (chunked) c.out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        c.out.flush();
    }

    private static final byte[] CRLF = {'\r', '\n'};

    private static List<Header> readHeaders(InputStream in) throws IOException {
        List<Header> headers = new ArrayList<>();
        int total = 0;
        while (true) {
            String line = readLine(in, in.read());
            if (line.isEmpty()) return headers;
            total += line.length();
            if (total > MAX_HEAD_BYTES)
                throw new IOException("worker sent more than " + MAX_HEAD_BYTES + " bytes of headers");
            int colon = line.indexOf(':');
            if (colon <= 0) throw new IOException("worker sent a malformed header line: " + abbreviate(line));
            headers.add(new Header(
                    line.substring(0, colon).strip(), line.substring(colon + 1).strip()));
        }
    }

    /** A line ending in CRLF (or LF), without it; {@code first} is its first byte, already read. */
    static String readLine(InputStream in, int first) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(64);
        int b = first;
        while (true) {
            if (b < 0) throw new EOFException("worker closed the connection mid-header");
            if (b == '\n') break;
            if (line.size() >= MAX_HEAD_BYTES) throw new IOException("worker sent an over-long header line");
            line.write(b);
            b = in.read();
        }
        byte[] bytes = line.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    private Connection pooled(int port) {
        ConcurrentLinkedDeque<Connection> q = idle.get(port);
        if (q == null) return null;
        for (Connection c; (c = q.pollFirst()) != null; ) {
            if (!c.socket.isClosed()) return c;
        }
        return null;
    }

    private void release(Connection c) {
        c.reused = true;
        idle.computeIfAbsent(c.port, p -> new ConcurrentLinkedDeque<>()).addFirst(c);
    }

    private static Connection connect(int port) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress("127.0.0.1", port), CONNECT_TIMEOUT_MS);
            return new Connection(port, s);
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** Closes the idle connections to a worker that is gone. */
    void evict(int port) {
        ConcurrentLinkedDeque<Connection> q = idle.remove(port);
        if (q != null) q.forEach(Connection::close);
    }

    @Override
    public void close() {
        for (Integer port : List.copyOf(idle.keySet())) evict(port);
    }

    private static final class StaleConnectionException extends IOException {
        StaleConnectionException() {
            super("stale pooled connection", null);
        }
    }

    private static final class Connection {
        final int port;
        final Socket socket;
        final BufferedInputStream in;
        final OutputStream out;
        boolean reused;

        Connection(int port, Socket socket) throws IOException {
            this.port = port;
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
            this.out = new BufferedOutputStream(socket.getOutputStream(), 8 * 1024);
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // nothing to do: the socket is unusable either way
            }
        }
    }

    /** A body framed inside the connection's stream: bulk reads do the work, single-byte reads go through them. */
    private abstract static class FramedInputStream extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }
    }

    /** Exactly {@code remaining} bytes, then end of stream; EOF before that is an error. */
    private static final class FixedLengthInputStream extends FramedInputStream {
        private final InputStream in;
        private long remaining;

        FixedLengthInputStream(InputStream in, long length) {
            this.in = in;
            this.remaining = length;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining == 0) return -1;
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0)
                throw new EOFException("worker closed the connection with " + remaining + " bytes of the body unsent");
            remaining -= n;
            return n;
        }
    }

    /** De-chunks a chunked body; what is available of a chunk is returned at once, so streams keep their timing. */
    private static final class ChunkedInputStream extends FramedInputStream {
        private final InputStream in;
        private long chunkLeft;
        private boolean finished;

        ChunkedInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (finished) return -1;
            if (chunkLeft == 0) {
                String size = readLine(in, in.read());
                int semi = size.indexOf(';');
                try {
                    chunkLeft = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).strip(), 16);
                } catch (NumberFormatException e) {
                    throw new IOException("worker sent a bad chunk size: " + abbreviate(size));
                }
                if (chunkLeft == 0) {
                    while (!readLine(in, in.read()).isEmpty()) {
                        // trailers are dropped: they are hop-by-hop for a proxy that re-frames the body
                    }
                    finished = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) throw new EOFException("worker closed the connection mid-chunk");
            chunkLeft -= n;
            if (chunkLeft == 0 && !readLine(in, in.read()).isEmpty())
                throw new IOException("worker sent a chunk without its CRLF");
            return n;
        }
    }
}
