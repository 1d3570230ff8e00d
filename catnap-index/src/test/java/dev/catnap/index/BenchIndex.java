package dev.catnap.index;

import dev.catnap.engine.EmbeddingModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;

/**
 * The index the latency benchmarks search: Lucene core's sources ({@link RetrievalCorpus}) with 768-dimension vectors
 * (the size of Nomic-Embed-Text's) from {@link HashedVectors}, built once under the module's build folder and reused
 * by every fork. The vectors are for the index's cost only; their ranking means nothing.
 */
final class BenchIndex {
    static final int DIMENSIONS = 768;
    static final String MODEL_ID = "hashed-768";

    private BenchIndex() {}

    static Path work() {
        return Path.of(System.getProperty("catnap.build.dir", "catnap-index/target"), "retrieval-bench");
    }

    static Path repository() throws Exception {
        return RetrievalCorpus.repository(work().resolve("lucene-core"));
    }

    static Path index() throws Exception {
        Path dir = work().resolve("index-latency");
        Path repo = repository();
        if (Files.exists(dir.resolve("built"))) return dir;
        try (var indexer = new Indexer(dir, Optional.of(embedder()), new Chunker(Chunker.DEFAULT_MAX_CHARS), true)) {
            indexer.index(Repository.of(repo.toString()).source(), repo, Indexer.Progress.NONE);
        }
        Files.writeString(dir.resolve("built"), "");
        return dir;
    }

    static Embedder embedder() {
        return new Embedder(MODEL_ID, new HashedVectors(DIMENSIONS));
    }

    /** A unit vector drawn from a generator seeded by the text: same text, same vector; costs microseconds. */
    record HashedVectors(int dimensions) implements EmbeddingModel {
        public float[] embed(String text) {
            Random r = new Random(text.hashCode());
            float[] v = new float[dimensions];
            double n = 0;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) r.nextGaussian();
                n += v[i] * v[i];
            }
            float inv = (float) (1 / Math.sqrt(n));
            for (int i = 0; i < v.length; i++) v[i] *= inv;
            return v;
        }

        public void close() {}
    }
}
