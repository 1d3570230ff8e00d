package dev.catnap.gateway;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Hand-written HTTP over a socket, for requests no well-behaved client would send. */
final class RawHttp {
    private RawHttp() {}

    /** Sends {@code request} as is, then reads until the server closes or {@code timeoutMs} of silence; the text read. */
    static String exchange(int port, byte[] request, int timeoutMs) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(timeoutMs);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return readResponse(s.getInputStream());
        }
    }

    static String exchange(int port, String request, int timeoutMs) throws IOException {
        return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), timeoutMs);
    }

    /** One response: the head, then a Content-Length body if it has one, else up to the close or a read timeout. */
    static String readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        try {
            int b;
            while ((b = in.read()) >= 0) {
                all.write(b);
                String text = all.toString(StandardCharsets.ISO_8859_1);
                int end = text.indexOf("\r\n\r\n");
                if (end < 0) continue;
                int length = contentLength(text.substring(0, end));
                if (length < 0) continue;
                byte[] body = in.readNBytes(length);
                all.write(body);
                return all.toString(StandardCharsets.UTF_8);
            }
        } catch (SocketTimeoutException | java.net.SocketException e) {
            // what arrived before the silence or the reset is the answer
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                return Integer.parseInt(line.substring(colon + 1).trim());
            }
        }
        return -1;
    }

    static int status(String response) {
        if (!response.startsWith("HTTP/1.1 ")) return -1;
        return Integer.parseInt(response.substring(9, 12));
    }

    static String body(String response) {
        int end = response.indexOf("\r\n\r\n");
        return end < 0 ? "" : response.substring(end + 4);
    }
}
