package dev.catnap.registry;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model on disk in Tabby's layout. {@code ggufParts} are complete, ordered part files
 * ({@code model-00001-of-0000N.gguf} first); templates come from its {@code tabby.json}.
 */
public record LocalModel(
        ModelId id, Path dir, List<Path> ggufParts, Optional<String> promptTemplate, Optional<String> chatTemplate) {
    public LocalModel {
        if (ggufParts.isEmpty()) throw new IllegalArgumentException("model " + id + " has no GGUF files");
        ggufParts = List.copyOf(ggufParts);
    }

    /** The file a GGUF reader opens; split models name their other parts from it. */
    public Path entryFile() {
        return ggufParts.getFirst();
    }
}
