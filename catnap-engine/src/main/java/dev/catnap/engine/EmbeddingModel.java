package dev.catnap.engine;

import java.io.IOException;
import java.nio.file.Path;

/** A bidirectional encoder (nomic-bert, bert): text in, one mean-pooled, L2-normalised vector out. */
public interface EmbeddingModel extends AutoCloseable {
    static EmbeddingModel load(Path gguf, EngineOptions options) throws IOException {
        return dev.catnap.engine.model.Encoders.load(gguf, options);
    }

    int dimensions();

    /** Thread-safe; texts longer than the context are an IllegalArgumentException. */
    float[] embed(String text);

    @Override
    void close();
}
