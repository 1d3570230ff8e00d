package dev.catnap.index;

import dev.catnap.engine.EmbeddingModel;

/** An embedding model and the id it is recorded under in the index (a different id means different vectors). */
public record Embedder(String modelId, EmbeddingModel model) {
    /** Embeds a text, cutting it from the end when it is longer than the model's context; null if nothing fits. */
    float[] embed(String text) {
        String t = text;
        for (int attempt = 0; attempt < 4 && !t.isEmpty(); attempt++) {
            try {
                return model.embed(t);
            } catch (IllegalArgumentException tooLong) {
                t = t.substring(0, t.length() / 2);
            }
        }
        return null;
    }

    /** As {@link #embed} for a query, keeping its end (the code nearest the cursor) when it must be cut. */
    float[] embedTail(String text) {
        String t = text;
        for (int attempt = 0; attempt < 4 && !t.isEmpty(); attempt++) {
            try {
                return model.embed(t);
            } catch (IllegalArgumentException tooLong) {
                t = t.substring(t.length() / 2);
            }
        }
        return null;
    }
}
