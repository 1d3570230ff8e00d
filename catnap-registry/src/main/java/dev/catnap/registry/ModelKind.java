package dev.catnap.registry;

import java.util.Optional;

/**
 * The role a model is used in. Tabby accepts a model for {@code --model} only with a {@code prompt_template}
 * and for {@code --chat-model} only with a {@code chat_template}; embedding models need neither.
 */
public enum ModelKind {
    COMPLETION,
    CHAT,
    EMBEDDING;

    /** Throws IllegalArgumentException naming the model and the missing template when it cannot serve this role. */
    public void requireSupported(ModelId id, Optional<String> promptTemplate, Optional<String> chatTemplate) {
        switch (this) {
            case COMPLETION -> {
                if (promptTemplate.isEmpty()) {
                    throw new IllegalArgumentException(
                            "model " + id + " cannot be used for completion: it has no prompt_template"
                                    + (chatTemplate.isPresent() ? " (it is a chat model)" : ""));
                }
            }
            case CHAT -> {
                if (chatTemplate.isEmpty()) {
                    throw new IllegalArgumentException(
                            "model " + id + " cannot be used for chat: it has no chat_template"
                                    + (promptTemplate.isPresent() ? " (it is a completion model)" : ""));
                }
            }
            case EMBEDDING -> {}
        }
    }

    void requireSupportedOrThrow(
            ModelId id, java.util.Optional<String> promptTemplate, java.util.Optional<String> chatTemplate)
            throws DownloadException {
        try {
            requireSupported(id, promptTemplate, chatTemplate);
        } catch (IllegalArgumentException e) {
            throw new DownloadException(DownloadException.Kind.BAD_INPUT, e.getMessage());
        }
    }

    public void requireSupported(LocalModel model) {
        requireSupported(model.id(), model.promptTemplate(), model.chatTemplate());
    }
}
