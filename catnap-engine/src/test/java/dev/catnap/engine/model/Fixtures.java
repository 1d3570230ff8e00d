package dev.catnap.engine.model;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the shared llama.cpp fixtures live: -Dcatnap.fixtures, else ../shared/fixtures from the checkout. */
public final class Fixtures {
    private Fixtures() {}

    public static Path root() {
        String p = System.getProperty("catnap.fixtures");
        if (p != null) return Path.of(p);
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolveSibling("shared").resolve("fixtures");
            if (Files.isDirectory(candidate)) return candidate;
            candidate = dir.resolve("shared").resolve("fixtures");
            if (Files.isDirectory(candidate)) return candidate;
        }
        throw new IllegalStateException("fixtures not found; set -Dcatnap.fixtures");
    }

    public static Path model(String name) {
        return root().resolve("models").resolve(name);
    }

    public static Path expected(String name) {
        return root().resolve("expected").resolve(name);
    }
}
