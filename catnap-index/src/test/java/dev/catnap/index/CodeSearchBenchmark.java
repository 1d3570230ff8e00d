package dev.catnap.index;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One completion's retrieval on the Lucene-core index (1176 files, 768-dimension vectors): the query is a held-out
 * cursor's prefix (20 lines), filtered to the repository and language, the cursor's file left out, Tabby's minimum
 * scores applied. The query's vector is computed beforehand, so this measures the index, not the embedding model.
 * SampleTime gives p50/p99.
 *
 * <pre>scripts/jmh catnap-index CodeSearchBenchmark -f 1 -wi 2 -w 5s -i 3 -r 10s</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:MaxInlineLevel=30"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
public class CodeSearchBenchmark {
    @Param({"bm25", "vector", "hybrid"})
    public String ranking;

    private CodeIndex index;
    private List<CodeSearch.Request> requests;
    private List<float[]> vectors;
    private SearchMode mode;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path dir = BenchIndex.index();
        index = CodeIndex.open(dir, Optional.of(BenchIndex.embedder()), SearchMode.HYBRID)
                .orElseThrow();
        String source = Repository.of(BenchIndex.repository().toString()).source();
        var cursors = RetrievalCorpus.cursors(BenchIndex.repository(), 200, 13);
        requests = cursors.stream()
                .map(c -> RetrievalCorpus.request(source, c, 20, true))
                .toList();
        vectors = cursors.stream().map(c -> index.queryVector(c.prefix())).toList();
        mode = SearchMode.valueOf(ranking.toUpperCase(java.util.Locale.ROOT));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        index.close();
    }

    @Benchmark
    public List<CodeSearch.Hit> search() {
        int i = next++ % requests.size();
        return index.search(requests.get(i), mode, vectors.get(i));
    }
}
