package dev.catnap.server;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** The shared test fixtures (../shared/fixtures, or -Dcatnap.fixtures). */
final class Fixtures {
    private Fixtures() {}

    static Path model(String name) {
        Path dir = Path.of(System.getProperty("catnap.fixtures", "../../shared/fixtures"));
        Path file = dir.resolve("models").resolve(name);
        Assumptions.assumeTrue(Files.isRegularFile(file), "fixture model missing: " + file);
        return file;
    }
}
