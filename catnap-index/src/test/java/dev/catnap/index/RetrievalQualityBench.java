package dev.catnap.index;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Recall@5 (and @1) of the defining chunk for held-out cursors ({@link RetrievalCorpus}), for BM25 only, vectors only
 * and hybrid on one index, plus the index's build throughput and size. Not a test: a figure-producing run.
 *
 * <pre>scripts/retrieval-bench [--embedding-model FILE --model-id ID] [--cursors N] [--no-vectors] [--rebuild]</pre>
 * (the script runs this class with catnap-index's test class path; without a model it uses the fixture
 * synth-nomic-bert-tiny-f32.gguf, whose random weights give vectors that carry no meaning).
 */
public final class RetrievalQualityBench {
    public static void main(String[] args) throws Exception {
        Path fixtures = Path.of(System.getProperty("catnap.fixtures", "../shared/fixtures"));
        Path model = fixtures.resolve("models/synth-nomic-bert-tiny-f32.gguf");
        String modelId = "synth-nomic-bert-tiny-f32";
        int max = 300;
        boolean vectors = true;
        boolean rebuild = false;
        Path work = Path.of(System.getProperty("catnap.build.dir", "catnap-index/target"), "retrieval-bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--embedding-model" -> model = Path.of(args[++i]);
                case "--model-id" -> modelId = args[++i];
                case "--cursors" -> max = Integer.parseInt(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--no-vectors" -> vectors = false;
                case "--rebuild" -> rebuild = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path repo = RetrievalCorpus.repository(work.resolve("lucene-core"));
        List<RetrievalCorpus.Cursor> cursors = RetrievalCorpus.cursors(repo, max, 13);
        String source = Repository.of(repo.toString()).source();
        long files = RetrievalCorpus.javaFiles(repo).size();
        System.out.printf(
                Locale.ROOT,
                "corpus: %s (%d Java files), %d held-out cursors%n",
                RetrievalCorpus.sourcesJar().getFileName(),
                files,
                cursors.size());

        Path bm25Dir = work.resolve("index-bm25");
        Indexer.Report bm25Build = build(bm25Dir, source, repo, Optional.empty(), true);
        report("BM25 only", bm25Build, bm25Dir);
        try (EmbeddingModel em =
                vectors ? Engine.embeddingModel(model, EngineOptions.defaults().withMaxSequences(1)) : null) {
            Optional<Embedder> embedder = vectors ? Optional.of(new Embedder(modelId, em)) : Optional.empty();
            Path hybridDir = bm25Dir;
            if (vectors) {
                hybridDir = work.resolve("index-hybrid");
                Indexer.Report hybridBuild = build(hybridDir, source, repo, embedder, rebuild);
                report("BM25 + vectors (" + modelId + ", " + em.dimensions() + " dims)", hybridBuild, hybridDir);
            }
            List<SearchMode> modes = vectors ? List.of(SearchMode.values()) : List.of(SearchMode.BM25);
            try (CodeIndex index =
                    CodeIndex.open(hybridDir, embedder, SearchMode.HYBRID).orElseThrow()) {
                Map<SearchMode, int[]> found =
                        new EnumMap<>(SearchMode.class); // [@1, @5, @5 with Tabby's thresholds, file @5]
                for (SearchMode m : modes) found.put(m, new int[4]);
                for (RetrievalCorpus.Cursor c : cursors) {
                    float[] v = index.queryVector(c.prefix());
                    for (SearchMode m : modes) {
                        List<CodeSearch.Hit> hits = index.search(RetrievalCorpus.request(source, c, 5, false), m, v);
                        int[] f = found.get(m);
                        if (!hits.isEmpty() && RetrievalCorpus.isAnswer(hits.getFirst(), c)) f[0]++;
                        if (hits.stream().anyMatch(h -> RetrievalCorpus.isAnswer(h, c))) f[1]++;
                        if (hits.stream().anyMatch(h -> h.filepath().equals(c.definingFile()))) f[3]++;
                        List<CodeSearch.Hit> kept = index.search(RetrievalCorpus.request(source, c, 5, true), m, v);
                        if (kept.stream().anyMatch(h -> RetrievalCorpus.isAnswer(h, c))) f[2]++;
                    }
                }
                System.out.println();
                System.out.println(
                        "| ranking | recall@1 | recall@5 | recall@5 with Tabby's minimum scores | defining file in top 5 |");
                System.out.println("|---|---|---|---|---|");
                var json = new ArrayList<String>();
                for (SearchMode m : modes) {
                    int[] f = found.get(m);
                    double n = cursors.size();
                    System.out.printf(
                            Locale.ROOT,
                            "| %s | %.3f | %.3f | %.3f | %.3f |%n",
                            m.name().toLowerCase(Locale.ROOT),
                            f[0] / n,
                            f[1] / n,
                            f[2] / n,
                            f[3] / n);
                    json.add(String.format(
                            Locale.ROOT,
                            "\"%s\":{\"recall_at_1\":%.4f,\"recall_at_5\":%.4f,\"recall_at_5_thresholds\":%.4f,\"file_recall_at_5\":%.4f}",
                            m.name().toLowerCase(Locale.ROOT),
                            f[0] / n,
                            f[1] / n,
                            f[2] / n,
                            f[3] / n));
                }
                Files.writeString(
                        work.resolve("retrieval-quality.json"),
                        "{\"cursors\":" + cursors.size() + ",\"files\":" + files + ",\"embedding_model\":\"" + modelId
                                + "\"," + String.join(",", json) + "}\n");
            }
        }
    }

    /** The BM25 index is always built anew (its throughput is a figure); the one with vectors only when asked, else refreshed. */
    private static Indexer.Report build(
            Path dir, String source, Path repo, Optional<Embedder> embedder, boolean rebuild) throws Exception {
        try (var indexer = new Indexer(dir, embedder, new Chunker(Chunker.DEFAULT_MAX_CHARS), rebuild)) {
            return indexer.index(source, repo, Indexer.Progress.NONE);
        }
    }

    private static void report(String what, Indexer.Report r, Path dir) throws Exception {
        long size;
        try (Stream<Path> s = Files.list(dir)) {
            size = s.filter(Files::isRegularFile)
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
        double seconds = r.millis() / 1000.0;
        if (r.read() == 0) {
            System.out.printf(
                    Locale.ROOT,
                    "index %s: reused (%d files unchanged, %.1f s to check); %.2f MiB on disk (--rebuild to build it anew)%n",
                    what,
                    r.unchanged(),
                    seconds,
                    size / 1048576.0);
            return;
        }
        System.out.printf(
                Locale.ROOT,
                "build %s: %d files, %d chunks, %.2f MiB in %.2f s = %.0f files/s, %.2f MiB/s; index %.2f MiB on disk%n",
                what,
                r.read(),
                r.chunks(),
                r.bytesRead() / 1048576.0,
                seconds,
                r.read() / seconds,
                r.bytesRead() / 1048576.0 / seconds,
                size / 1048576.0);
    }
}
