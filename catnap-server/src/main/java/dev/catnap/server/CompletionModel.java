package dev.catnap.server;

import java.util.Objects;
import java.util.Optional;

/** The model behind {@code /v1/completions}; without a FIM template the prompt is the prefix alone (as in Tabby). */
public record CompletionModel(String id, TextModel model, Optional<String> promptTemplate) {
    public CompletionModel {
        Objects.requireNonNull(id);
        Objects.requireNonNull(model);
        promptTemplate.ifPresent(t -> {
            if (!t.contains("{prefix}")) throw new IllegalArgumentException("prompt template has no {prefix}: " + t);
        });
    }
}
