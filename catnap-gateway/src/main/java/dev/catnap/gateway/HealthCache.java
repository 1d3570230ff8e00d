package dev.catnap.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last successful {@code /v1/health} body a worker returned, kept on disk so that editors' periodic health checks
 * are answered without starting a worker or keeping one warm, across gateway restarts too.
 *
 * <p>A body is only served to requests carrying the same Authorization header as the request that fetched it (only a
 * SHA-256 of the header is stored), so a worker's token check is never bypassed. One body is kept per credential for
 * the last {@value #MAX_CREDENTIALS} credentials, so that a team with several tokens does not wake a worker on every
 * health check; only the latest is saved to disk.
 */
final class HealthCache {
    private static final Logger log = LoggerFactory.getLogger("gateway");
    private static final int MAX_BODY = 64 * 1024;
    static final int MAX_CREDENTIALS = 32;

    private record Entry(String authHash, byte[] body) {}

    private final Path file;
    private final java.util.LinkedHashMap<String, byte[]> entries = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<String, byte[]> eldest) {
            return size() > MAX_CREDENTIALS;
        }
    };

    HealthCache(Path stateDir) {
        this.file = stateDir == null ? null : stateDir.resolve("health.json");
        Entry saved = load();
        if (saved != null) entries.put(saved.authHash, saved.body);
    }

    Optional<byte[]> lookup(String authorization) {
        String h = hash(authorization);
        synchronized (entries) {
            return Optional.ofNullable(entries.get(h));
        }
    }

    void store(String authorization, byte[] body) {
        if (body.length == 0 || body.length > MAX_BODY) return;
        Entry e = new Entry(hash(authorization), body.clone());
        synchronized (entries) {
            entries.put(e.authHash, e.body);
        }
        if (file == null) return;
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(tmp, (e.authHash + "\n").getBytes(StandardCharsets.US_ASCII));
            Files.write(tmp, body, java.nio.file.StandardOpenOption.APPEND);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException ex) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException ex) {
            log.warn("cannot save the health body to {}: {}", file, ex.getMessage());
        }
    }

    private Entry load() {
        if (file == null || !Files.isRegularFile(file)) return null;
        try {
            byte[] all = Files.readAllBytes(file);
            int nl = indexOf(all, (byte) '\n');
            if (nl != 64) return null;
            byte[] body = java.util.Arrays.copyOfRange(all, nl + 1, all.length);
            return body.length == 0 ? null : new Entry(new String(all, 0, nl, StandardCharsets.US_ASCII), body);
        } catch (IOException e) {
            log.warn("cannot read the saved health body {}: {}", file, e.getMessage());
            return null;
        }
    }

    private static int indexOf(byte[] a, byte b) {
        for (int i = 0; i < a.length; i++) if (a[i] == b) return i;
        return -1;
    }

    static String hash(String authorization) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256")
                    .digest((authorization == null ? "" : authorization).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
