package dev.catnap.registry;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads Tabby's {@code models.json}, offline-first: a fetched registry is cached at {@code MODELS/Org/models.json}
 * (where Tabby caches it) and a failed fetch falls back to that copy. A registry given as a file is read as is.
 */
final class RegistryLoader {
    private static final Logger log = LoggerFactory.getLogger(RegistryLoader.class);

    private final HttpClient http;
    private final Path modelsDir;
    private final Duration timeout;

    RegistryLoader(HttpClient http, Path modelsDir, Duration timeout) {
        this.http = http;
        this.modelsDir = modelsDir;
        this.timeout = timeout;
    }

    static String defaultUrl(String org) {
        return "https://raw.githubusercontent.com/" + org + "/registry-tabby/main/models.json";
    }

    static Path cacheFile(Path modelsDir, String org) {
        return modelsDir.resolve(org).resolve("models.json");
    }

    /** The registry's entries and a description of where they came from, for messages. */
    record Loaded(List<ModelInfo> entries, String source) {
        Optional<ModelInfo> find(String name) {
            return entries.stream().filter(e -> name.equals(e.name())).findFirst();
        }
    }

    Loaded load(String org, Optional<String> registry) throws DownloadException {
        String location = registry.filter(s -> !s.isBlank()).orElseGet(() -> defaultUrl(org));
        if (!location.startsWith("http://") && !location.startsWith("https://")) return loadFile(location);

        Path cache = cacheFile(modelsDir, org);
        byte[] body;
        List<ModelInfo> entries;
        try {
            body = fetch(location);
            entries = Json.parseRegistry(body, location); // parsed before caching: never cache something unusable
        } catch (IOException e) {
            if (Files.isRegularFile(cache)) {
                log.warn("registry {} unavailable ({}); using the cached copy {}", location, Json.oneLine(e), cache);
                try {
                    return new Loaded(
                            Json.parseRegistry(Files.readAllBytes(cache), cache.toString()),
                            cache + " (cached copy of " + location + ")");
                } catch (IOException cacheError) {
                    throw new DownloadException(
                            DownloadException.Kind.REGISTRY_UNAVAILABLE,
                            "registry " + location + " unavailable (" + Json.oneLine(e)
                                    + ") and its cached copy is unusable: " + Json.oneLine(cacheError),
                            cacheError);
                }
            }
            throw new DownloadException(
                    DownloadException.Kind.REGISTRY_UNAVAILABLE,
                    "registry " + location + " unavailable (" + Json.oneLine(e) + ") and there is no cached copy at "
                            + cache,
                    e);
        }
        try {
            Files.createDirectories(cache.getParent());
            Json.writeAtomically(cache, body);
        } catch (IOException e) {
            log.warn("cannot cache the registry at {}: {}", cache, Json.oneLine(e));
        }
        return new Loaded(entries, location);
    }

    private Loaded loadFile(String location) throws DownloadException {
        Path file;
        try {
            file = location.startsWith("file:") ? Path.of(URI.create(location)) : Path.of(location);
        } catch (IllegalArgumentException e) { // includes InvalidPathException
            throw new DownloadException(
                    DownloadException.Kind.BAD_INPUT,
                    "registry '" + location + "' is neither an http(s) URL nor a file path");
        }
        try {
            return new Loaded(Json.parseRegistry(Files.readAllBytes(file), file.toString()), file.toString());
        } catch (NoSuchFileException e) {
            throw new DownloadException(DownloadException.Kind.BAD_INPUT, "registry file " + file + " does not exist");
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.BAD_INPUT, Json.oneLine(e), e);
        }
    }

    private byte[] fetch(String url) throws IOException {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(url))
                    .timeout(timeout)
                    .GET()
                    .build();
        } catch (IllegalArgumentException e) {
            throw new IOException("invalid URL: " + Json.oneLine(e));
        }
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) throw new IOException("HTTP " + response.statusCode());
            return response.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
