package dev.catnap.engine.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Paths to the shared fixtures (surefire passes their location in {@code catnap.fixtures}). */
final class Fixtures {
    private Fixtures() {}

    static Path root() {
        return Path.of(System.getProperty("catnap.fixtures", "../../shared/fixtures"));
    }

    static Path quant(String file) {
        return root().resolve("quant").resolve(file);
    }

    static Path model(String file) {
        return root().resolve("models").resolve(file);
    }

    static float[] readF32(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] f = new float[b.remaining() / 4];
        b.asFloatBuffer().get(f);
        return f;
    }
}
