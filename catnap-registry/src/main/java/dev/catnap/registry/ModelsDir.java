package dev.catnap.registry;

import java.nio.file.Path;
import java.util.Map;

/** Where models live, decided exactly as Tabby does so that both share one cache. */
public final class ModelsDir {
    private ModelsDir() {}

    /** {@code TABBY_MODEL_CACHE_ROOT}, else {@code TABBY_ROOT/models}, else {@code ~/.tabby/models}. Blank values count as unset. */
    public static Path resolve(Map<String, String> env) {
        String cacheRoot = env.get("TABBY_MODEL_CACHE_ROOT");
        if (cacheRoot != null && !cacheRoot.isBlank()) return Path.of(cacheRoot).toAbsolutePath();
        String root = env.get("TABBY_ROOT");
        if (root != null && !root.isBlank()) return Path.of(root, "models").toAbsolutePath();
        return Path.of(System.getProperty("user.home"), ".tabby", "models");
    }
}
