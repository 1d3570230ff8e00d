package dev.catnap.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bearer tokens the gateway accepts: none (the front door is open), a fixed list, or a file of one token per line
 * that is read again when it changes, so that a team rotates tokens without a restart.
 *
 * <p>Only SHA-256 digests are kept, and a check compares the given token's digest with every accepted one without
 * stopping at a match: equal-length digests make {@link MessageDigest#isEqual} constant-time, so the answer's timing
 * says nothing about how much of a token was right, or which one.
 */
public final class Tokens implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("gateway");
    static final Duration RELOAD_INTERVAL = Duration.ofSeconds(1);

    private final Path file;
    private volatile List<byte[]> digests;
    private volatile String loadedText;
    private volatile boolean loadFailed;
    private Thread watcher;

    private Tokens(Path file, List<byte[]> digests, String loadedText) {
        this.file = file;
        this.digests = digests;
        this.loadedText = loadedText;
    }

    /** No token required: every request is let through, as before authentication existed. */
    public static Tokens none() {
        return new Tokens(null, null, null);
    }

    /** Exactly these tokens (surrounding whitespace ignored). */
    public static Tokens of(List<String> tokens) {
        List<byte[]> d = new ArrayList<>();
        for (String t : tokens) {
            String s = t.strip();
            if (s.isEmpty()) throw new IllegalArgumentException("the token is empty");
            d.add(digest(s));
        }
        if (d.isEmpty()) throw new IllegalArgumentException("no token given");
        return new Tokens(null, List.copyOf(d), null);
    }

    /**
     * The tokens in {@code file}, one per line; blank lines and lines starting with {@code #} are skipped. The file is
     * checked every second once {@link #watch} is called; a file that cannot be read keeps the tokens already loaded.
     *
     * @throws IllegalArgumentException when the file cannot be read or holds no token
     */
    public static Tokens file(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read token file " + file + ": " + e.getMessage());
        }
        List<byte[]> d = parse(text);
        if (d.isEmpty()) throw new IllegalArgumentException("token file " + file + " holds no token");
        return new Tokens(file, d, text);
    }

    private static List<byte[]> parse(String text) {
        List<byte[]> d = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#")) continue;
            d.add(digest(s));
        }
        return List.copyOf(d);
    }

    /** Whether a token is needed at all. */
    public boolean required() {
        return digests != null;
    }

    /** How many tokens are accepted now. */
    public int count() {
        List<byte[]> d = digests;
        return d == null ? 0 : d.size();
    }

    /**
     * Whether an {@code Authorization} header value carries an accepted token. As {@code catnap serve} (and Tabby)
     * do, the value is split at its first space and the scheme word is not checked.
     */
    public boolean accepts(String authorization) {
        List<byte[]> d = digests;
        if (d == null) return true;
        if (authorization == null) return false;
        int space = authorization.indexOf(' ');
        String given = space < 0 ? "" : authorization.substring(space + 1).strip();
        byte[] g = digest(given);
        boolean match = false;
        for (byte[] accepted : d) match |= MessageDigest.isEqual(g, accepted);
        return match && !given.isEmpty();
    }

    /** Reads the file again if its contents changed; true when the accepted tokens changed. */
    boolean reload() {
        if (file == null) return false;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            if (!loadFailed)
                log.warn("cannot read token file {} (keeping the {} tokens loaded): {}", file, count(), e.getMessage());
            loadFailed = true;
            return false;
        }
        loadFailed = false;
        if (Objects.equals(text, loadedText)) return false;
        loadedText = text;
        List<byte[]> d = parse(text);
        digests = d;
        if (d.isEmpty())
            log.warn("token file {} now holds no token: every request is refused until one is added", file);
        else log.info("token file {} reloaded: {} tokens", file, d.size());
        return true;
    }

    /** Starts checking the file for changes every {@link #RELOAD_INTERVAL} (nothing to do without a file). */
    synchronized void watch() {
        if (file == null || watcher != null) return;
        watcher = Thread.ofVirtual().name("token-file-watch").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(RELOAD_INTERVAL);
                } catch (InterruptedException e) {
                    return;
                }
                reload();
            }
        });
    }

    Optional<Path> path() {
        return Optional.ofNullable(file);
    }

    @Override
    public synchronized void close() {
        if (watcher != null) watcher.interrupt();
    }

    private static byte[] digest(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
