package dev.catnap.engine.gguf;

import java.io.IOException;
import java.nio.file.Path;

/** A GGUF file that cannot be read: the message names the file and what is wrong with it. */
public final class GGUFFormatException extends IOException {
    public GGUFFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
