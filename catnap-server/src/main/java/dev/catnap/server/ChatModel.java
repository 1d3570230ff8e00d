package dev.catnap.server;

import java.util.Objects;

/** The model behind {@code /v1/chat/completions}. */
public record ChatModel(String id, TextModel model, ChatTemplate template) {
    public ChatModel {
        Objects.requireNonNull(id);
        Objects.requireNonNull(model);
        Objects.requireNonNull(template);
    }
}
