package dev.catnap.index;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What opening the index costs a worker's cold start: the first {@link CodeIndex#open} in a fresh JVM (Lucene's
 * classes loaded, segments read), alone and with the first search (cold code), once per fork. {@code catnap serve} does this on a virtual
 * thread while the models load, so it is off the start's critical path; this says how long until context is there.
 *
 * <pre>scripts/jmh catnap-index CodeIndexOpenBenchmark -f 10</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(
        value = 10,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:MaxInlineLevel=30"})
@Warmup(iterations = 0)
@Measurement(iterations = 1)
public class CodeIndexOpenBenchmark {
    private Path dir;
    private CodeSearch.Request request;

    @Setup
    public void setUp() throws Exception {
        dir = BenchIndex.index();
        request = new CodeSearch.Request(
                "final int maxDoc = reader.maxDoc();\n    ",
                Optional.empty(),
                Optional.of("java"),
                Optional.empty(),
                20,
                true);
    }

    @Benchmark
    public int open() {
        try (CodeIndex index =
                CodeIndex.open(dir, Optional.empty(), SearchMode.BM25).orElseThrow()) {
            return index.mode().ordinal();
        }
    }

    @Benchmark
    public List<CodeSearch.Hit> openAndSearchOnce() {
        try (CodeIndex index =
                CodeIndex.open(dir, Optional.empty(), SearchMode.BM25).orElseThrow()) {
            return index.search(request);
        }
    }
}
