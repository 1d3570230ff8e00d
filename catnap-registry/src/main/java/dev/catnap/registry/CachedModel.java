package dev.catnap.registry;

import java.nio.file.Path;

/** A model directory as {@code catnap models} reports it. {@code sizeBytes} counts GGUF files and partial downloads. */
public record CachedModel(ModelId id, Path dir, long sizeBytes, Status status) {
    public enum Status {
        /** Every part hashed and matched the expected SHA-256, and is unchanged since. */
        VERIFIED,
        /** Complete but not (or no longer) known to match: a Tabby-made cache, a changed file, or no hash in tabby.json. */
        UNVERIFIED,
        /** Some parts are missing: an interrupted download. */
        INCOMPLETE,
        /** tabby.json cannot be read. */
        BROKEN
    }
}
