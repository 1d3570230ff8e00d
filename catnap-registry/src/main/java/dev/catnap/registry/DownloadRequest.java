package dev.catnap.registry;

import java.util.Optional;

/**
 * One {@code catnap download}: the model, an optional registry (http(s) URL, {@code file:} URL or a path; default is
 * Tabby's registry for the id's organisation), whether to re-download a present model, and the role it must serve.
 */
public record DownloadRequest(ModelId id, Optional<String> registry, boolean force, Optional<ModelKind> kind) {
    public static DownloadRequest of(ModelId id) {
        return new DownloadRequest(id, Optional.empty(), false, Optional.empty());
    }
}
