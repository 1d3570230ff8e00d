package dev.catnap.cli;

import dev.catnap.registry.LocalModel;
import dev.catnap.registry.ModelCache;
import dev.catnap.registry.ModelId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a {@code --model}/{@code --chat-model} argument points: a model id in Tabby's cache layout, a model
 * directory in that layout, or a single GGUF file. Templates come from {@code tabby.json} when there is one;
 * the caller falls back to the GGUF's own metadata. It lives in the CLI, not in catnap-server: reading an argument
 * against the model cache is the composition's work, so the server needs nothing of catnap-registry.
 *
 * @param id   shown in {@code /v1/health}: {@code Org/Name}, or the GGUF file's name
 * @param gguf the file to load (the first part of a split model)
 */
record ModelLocation(String id, Path gguf, Optional<String> promptTemplate, Optional<String> chatTemplate) {

    /** Resolves the argument; IllegalArgumentException with one readable line when there is nothing to load. */
    static ModelLocation resolve(String spec, Path modelsDir) {
        Path path = null;
        try {
            path = Path.of(spec);
        } catch (InvalidPathException e) {
            // not a path: treat as an id below
        }
        if (path != null && Files.isRegularFile(path)) {
            String name = path.getFileName().toString();
            if (!name.toLowerCase(Locale.ROOT).endsWith(".gguf")) {
                throw new IllegalArgumentException(spec + " is a file but not a .gguf model");
            }
            return new ModelLocation(name.substring(0, name.length() - 5), path, Optional.empty(), Optional.empty());
        }
        if (path != null && Files.isDirectory(path)) {
            try {
                LocalModel m = ModelCache.fromDirectory(path);
                return fromLocal(m);
            } catch (IOException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        if (spec.endsWith(".gguf")
                || spec.startsWith(".")
                || spec.startsWith("/")
                || spec.startsWith("~")
                || spec.chars().filter(c -> c == '/').count() > 1) {
            throw new IllegalArgumentException("no such model file or directory: " + spec);
        }
        ModelId id = ModelId.parse(spec);
        var cache = new ModelCache(modelsDir);
        Optional<LocalModel> found = cache.find(id);
        if (found.isEmpty()) {
            throw new IllegalArgumentException("model " + id + " is not downloaded (looked in " + cache.modelDir(id)
                    + "); fetch it with: catnap download --model " + id);
        }
        return fromLocal(found.get());
    }

    private static ModelLocation fromLocal(LocalModel m) {
        if (m.ggufParts().isEmpty()) {
            throw new IllegalArgumentException("model " + m.id() + " in " + m.dir()
                    + " has no GGUF file under ggml/; fetch it with: catnap download --model " + m.id());
        }
        return new ModelLocation(m.id().toString(), m.entryFile(), m.promptTemplate(), m.chatTemplate());
    }
}
