package dev.catnap.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fetches one GGUF part into {@code <file>.part}, resuming with HTTP Range across runs, trying each mirror
 * {@code attemptsPerUrl} times with backoff, verifying SHA-256, then renaming atomically onto the final name.
 */
final class PartFetcher {
    private static final Logger log = LoggerFactory.getLogger(PartFetcher.class);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern UNSATISFIED_RANGE = Pattern.compile("bytes\\s+\\*/(\\d+)");
    private static final int BUFFER = 1 << 20;

    private final HttpClient http;
    private final DownloadSettings settings;
    private final ScheduledExecutorService watchdog;
    private final Progress progress;

    PartFetcher(HttpClient http, DownloadSettings settings, ScheduledExecutorService watchdog, Progress progress) {
        this.http = http;
        this.settings = settings;
        this.watchdog = watchdog;
        this.progress = progress;
    }

    static Path partialFile(Path target) {
        return target.resolveSibling(target.getFileName() + ".part");
    }

    /** Downloads and verifies {@code target}; returns its SHA-256 (lower-case hex). */
    String fetch(String label, int partIndex, Path target, List<String> mirrors, String expectedSha)
            throws DownloadException, InterruptedException {
        Path part = partialFile(target);
        List<String> failures = new ArrayList<>();
        String mismatch = null;
        for (String url : mirrors) {
            boolean restartedAfterMismatch = false;
            while (true) {
                Transfer t = transferWithRetries(label, partIndex, part, url, failures);
                if (t == null) break; // this mirror is exhausted
                String actual = sha256(part);
                if (expectedSha.isEmpty() || expectedSha.equals(actual)) {
                    install(part, target);
                    log.info(
                            "{}: verified {} (sha256 {}){}",
                            label,
                            target.getFileName(),
                            actual,
                            expectedSha.isEmpty() ? ", registry gives no hash to check" : "");
                    return actual;
                }
                deleteQuietly(part);
                progress.part(partIndex, -1, 0);
                if (t.resumedFrom() > 0 && !restartedAfterMismatch) {
                    // the earlier bytes may belong to another file version: one clean retry before blaming the mirror
                    log.warn(
                            "{}: sha256 mismatch after resuming {} at byte {}; downloading it again from the start",
                            label,
                            target.getFileName(),
                            t.resumedFrom());
                    restartedAfterMismatch = true;
                    continue;
                }
                mismatch = "checksum mismatch for " + target.getFileName() + " from " + url + ": expected sha256 "
                        + expectedSha + ", got " + actual + "; partial file removed";
                log.warn("{}: {}", label, mismatch);
                failures.add(url + ": sha256 " + actual + " instead of " + expectedSha);
                break;
            }
        }
        if (mismatch != null) throw new DownloadException(DownloadException.Kind.CHECKSUM, mismatch);
        throw new DownloadException(
                DownloadException.Kind.NETWORK,
                "could not download " + target.getFileName() + " from any mirror: " + String.join("; ", failures));
    }

    private record Transfer(long resumedFrom, long totalOnDisk) {}

    /** Null when every attempt on this URL failed (reasons appended to {@code failures}). */
    private Transfer transferWithRetries(String label, int partIndex, Path part, String url, List<String> failures)
            throws DownloadException, InterruptedException {
        Duration backoff = settings.firstBackoff();
        for (int attempt = 1; attempt <= settings.attemptsPerUrl(); attempt++) {
            try {
                return transfer(label, partIndex, part, url);
            } catch (LocalWriteException e) {
                deleteQuietlyIfEmpty(part);
                throw new DownloadException(
                        DownloadException.Kind.LOCAL_IO, "cannot write " + part + ": " + Json.oneLine(e.getCause()), e);
            } catch (HttpStatusException e) {
                failures.add(url + ": HTTP " + e.status);
                if (!e.retryable()) {
                    log.warn("{}: {} answered HTTP {}; trying the next mirror", label, url, e.status);
                    return null;
                }
                if (attempt == settings.attemptsPerUrl()) {
                    log.warn(
                            "{}: {} answered HTTP {} ({} attempts); trying the next mirror",
                            label,
                            url,
                            e.status,
                            attempt);
                    return null;
                }
                log.warn("{}: {} answered HTTP {}; retrying in {} ms", label, url, e.status, backoff.toMillis());
            } catch (InterruptedIOException e) {
                if (Thread.currentThread().isInterrupted()) throw new InterruptedException("download interrupted");
                failures.add(url + ": " + Json.oneLine(e));
                if (attempt == settings.attemptsPerUrl()) return null;
                log.warn("{}: {} failed ({}); retrying in {} ms", label, url, Json.oneLine(e), backoff.toMillis());
            } catch (IOException e) {
                failures.add(url + ": " + Json.oneLine(e));
                if (attempt == settings.attemptsPerUrl()) {
                    log.warn(
                            "{}: {} failed ({}, {} attempts); trying the next mirror",
                            label,
                            url,
                            Json.oneLine(e),
                            attempt);
                    return null;
                }
                log.warn("{}: {} failed ({}); retrying in {} ms", label, url, Json.oneLine(e), backoff.toMillis());
            }
            Thread.sleep(backoff);
            backoff = backoff.multipliedBy(2);
            if (backoff.compareTo(settings.maxBackoff()) > 0) backoff = settings.maxBackoff();
        }
        return null;
    }

    private Transfer transfer(String label, int partIndex, Path part, String url)
            throws IOException, InterruptedException {
        long have = sizeOrZero(part);
        HttpRequest.Builder rb;
        try {
            rb = HttpRequest.newBuilder(URI.create(url))
                    .timeout(settings.stallTimeout())
                    .GET();
        } catch (IllegalArgumentException e) {
            throw new HttpStatusException(0, "invalid URL " + url);
        }
        if (have > 0) rb.header("Range", "bytes=" + have + "-");
        HttpResponse<InputStream> response = http.send(rb.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = response.body()) {
            int status = response.statusCode();
            long offset;
            long total;
            switch (status) {
                case 206 -> {
                    Matcher m = CONTENT_RANGE.matcher(
                            response.headers().firstValue("Content-Range").orElse(""));
                    if (!m.matches() || Long.parseLong(m.group(1)) != have) {
                        truncate(part);
                        throw new IOException("server answered the range request at byte " + have
                                + " with Content-Range '"
                                + response.headers().firstValue("Content-Range").orElse("") + "'; restarting from 0");
                    }
                    offset = have;
                    total = m.group(3).equals("*") ? Long.parseLong(m.group(2)) + 1 : Long.parseLong(m.group(3));
                    log.info("{}: resuming {} at byte {} of {} from {}", label, finalName(part), have, total, url);
                    progress.part(partIndex, total, have);
                }
                case 200 -> {
                    if (have > 0) {
                        log.info(
                                "{}: {} ignores Range requests; restarting {} from byte 0",
                                label,
                                URI.create(url).getHost(),
                                finalName(part));
                    } else {
                        log.info("{}: downloading {} from {}", label, finalName(part), url);
                    }
                    offset = 0;
                    total = response.headers()
                            .firstValueAsLong("Content-Length")
                            .orElse(-1);
                    progress.part(partIndex, total, 0);
                }
                case 416 -> {
                    Matcher m = UNSATISFIED_RANGE.matcher(
                            response.headers().firstValue("Content-Range").orElse(""));
                    if (m.matches() && Long.parseLong(m.group(1)) == have) {
                        progress.part(partIndex, have, have);
                        return new Transfer(
                                have, have); // the earlier run got every byte; only verification was missing
                    }
                    truncate(part);
                    throw new IOException("server rejected resuming at byte " + have + "; restarting from 0");
                }
                default -> throw new HttpStatusException(status, url);
            }
            long end = copy(in, partIndex, part, offset, total);
            return new Transfer(offset, end);
        }
    }

    /** Streams the body into the part file from {@code offset}; a stall longer than the timeout closes the stream. */
    private long copy(InputStream in, int partIndex, Path part, long offset, long total) throws IOException {
        AtomicLong lastActivity = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        long stallNanos = settings.stallTimeout().toNanos();
        long period = Math.max(50, settings.stallTimeout().toMillis() / 4);
        ScheduledFuture<?> guard = watchdog.scheduleAtFixedRate(
                () -> {
                    if (System.nanoTime() - lastActivity.get() > stallNanos && stalled.compareAndSet(false, true)) {
                        try {
                            in.close();
                        } catch (IOException ignored) {
                            // closing is only to wake the reader
                        }
                    }
                },
                period,
                period,
                TimeUnit.MILLISECONDS);
        FileChannel out;
        try {
            out = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            out.truncate(offset);
            out.position(offset);
        } catch (IOException e) {
            guard.cancel(false);
            throw new LocalWriteException(e);
        }
        long position = offset;
        try (out) {
            byte[] buf = new byte[BUFFER];
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    if (Thread.currentThread().isInterrupted())
                        throw new InterruptedIOException("cancelled at byte " + position);
                    if (stalled.get())
                        throw new IOException(
                                "no data for " + settings.stallTimeout().toMillis() + " ms at byte " + position);
                    throw new IOException("connection lost at byte " + position + (total > 0 ? " of " + total : "")
                            + ": " + Json.oneLine(e));
                }
                if (n < 0) break;
                lastActivity.set(System.nanoTime());
                try {
                    ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                    while (bb.hasRemaining()) out.write(bb);
                } catch (IOException e) {
                    throw new LocalWriteException(e);
                }
                position += n;
                progress.advance(partIndex, n);
            }
            if (total >= 0 && position != total) {
                throw new IOException("connection closed at byte " + position + " of " + total);
            }
            try {
                out.force(true);
            } catch (IOException e) {
                throw new LocalWriteException(e);
            }
            return position;
        } finally {
            guard.cancel(false);
        }
    }

    private static void install(Path part, Path target) throws DownloadException {
        try {
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO,
                    "cannot move " + part + " to " + target + ": " + Json.oneLine(e),
                    e);
        }
    }

    private static String finalName(Path part) {
        String n = part.getFileName().toString();
        return n.endsWith(".part") ? n.substring(0, n.length() - ".part".length()) : n;
    }

    static String sha256(Path file) throws DownloadException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
            while (ch.read(buf) >= 0) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO, "cannot read " + file + ": " + Json.oneLine(e), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }

    private static long sizeOrZero(Path f) throws LocalWriteException {
        try {
            return Files.exists(f) ? Files.size(f) : 0;
        } catch (IOException e) {
            throw new LocalWriteException(e);
        }
    }

    private static void truncate(Path part) throws LocalWriteException {
        try {
            Files.deleteIfExists(part);
        } catch (IOException e) {
            throw new LocalWriteException(e);
        }
    }

    private static void deleteQuietly(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (IOException e) {
            log.warn("cannot delete {}: {}", f, Json.oneLine(e));
        }
    }

    private static void deleteQuietlyIfEmpty(Path f) {
        try {
            if (Files.exists(f) && Files.size(f) == 0) Files.delete(f);
        } catch (IOException ignored) {
            // best effort: an empty leftover is harmless
        }
    }

    /** A local file operation failed: retrying the network will not help. */
    static final class LocalWriteException extends IOException {
        LocalWriteException(IOException cause) {
            super(cause);
        }
    }

    /** An HTTP status other than 200/206/416. 404-like answers move to the next mirror at once; 5xx and 429 are retried. */
    static final class HttpStatusException extends IOException {
        final int status;

        HttpStatusException(int status, String url) {
            super("HTTP " + status + " from " + url);
            this.status = status;
        }

        boolean retryable() {
            return status >= 500 || status == 429 || status == 408;
        }
    }
}
