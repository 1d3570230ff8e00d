package dev.catnap.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IndexerTest {
    static EmbeddingModel nomic;

    static final String HELPER = """
            package acme.util;

            public final class TextUtils {
                /** Joins words with a separator, skipping blank ones. */
                public static String joinNonBlank(String separator, java.util.List<String> words) {
                    var sb = new StringBuilder();
                    for (String w : words) {
                        if (w.isBlank()) continue;
                        if (sb.length() > 0) sb.append(separator);
                        sb.append(w);
                    }
                    return sb.toString();
                }
            }
            """;
    static final String PY_HELPER = """
            def parse_http_header(line):
                name, _, value = line.partition(":")
                return name.strip().lower(), value.strip()
            """;

    @BeforeAll
    static void loadModel() throws IOException {
        Path file = Path.of(
                System.getProperty("catnap.fixtures", "../../shared/fixtures"),
                "models",
                "synth-nomic-bert-tiny-f32.gguf");
        Assumptions.assumeTrue(Files.isRegularFile(file), "fixture missing: " + file);
        nomic = Engine.embeddingModel(file, new EngineOptions(1, 1, 64L << 20));
    }

    @AfterAll
    static void close() {
        if (nomic != null) nomic.close();
    }

    static TestRepo sample(Path dir) throws Exception {
        return new TestRepo(dir)
                .write("src/main/java/acme/util/TextUtils.java", HELPER)
                .write(
                        "src/main/java/acme/App.java",
                        "package acme;\n\nclass App {\n    void run() {\n        System.out.println(\"hi\");\n    }\n}\n")
                .write("tools/http.py", PY_HELPER)
                .write("tools/main.py", "import sys\n\ndef main():\n    print(sys.argv)\n")
                .write("node_modules/lib/index.js", "function vendored() { return 1; }\n")
                .write("assets/logo.py", "\u0000\u0001binary")
                .write(".gitignore", "build/\n*.log\n")
                .commit("first");
    }

    static CodeSearch.Request query(String text) {
        return new CodeSearch.Request(text, Optional.empty(), Optional.empty(), Optional.empty(), 5, false);
    }

    @Test
    void indexesTrackedSourceAndFindsItByCamelCaseParts(@TempDir Path tmp) throws Exception {
        try (TestRepo repo = sample(tmp.resolve("repo"))) {
            repo.write("build/Generated.java", "class Generated { void joinNonBlank() {} }\n"); // ignored, untracked
            repo.write("notes/Draft.java", "class Draft { void draft() {} }\n"); // untracked, not ignored
            Path index = tmp.resolve("index");
            String source = Repository.of(repo.dir.toString()).source();
            Indexer.Report report;
            try (var indexer = new Indexer(index, Optional.empty(), new Chunker(512), false)) {
                report = indexer.index(source, repo.dir, Indexer.Progress.NONE);
            }
            assertThat(report.files()).isEqualTo(6); // 2 Java, 3 Python (one binary), the untracked Draft.java
            assertThat(report.read()).isEqualTo(5);
            assertThat(report.chunks()).isGreaterThanOrEqualTo(5);
            try (CodeIndex ci =
                    CodeIndex.open(index, Optional.empty(), SearchMode.HYBRID).orElseThrow()) {
                assertThat(ci.mode()).isEqualTo(SearchMode.BM25);
                assertThat(ci.sources()).containsExactly(source);
                List<CodeSearch.Hit> hits = ci.search(query("String line = join non blank(\", \", parts);"));
                assertThat(hits).isNotEmpty();
                assertThat(hits.getFirst().filepath()).isEqualTo("src/main/java/acme/util/TextUtils.java");
                assertThat(hits.getFirst().body()).contains("joinNonBlank");
                assertThat(hits.getFirst().startLine()).isEqualTo(1);
                assertThat(hits.getFirst().language()).isEqualTo("java");
                assertThat(ci.search(query("parseHttpHeader")))
                        .extracting(CodeSearch.Hit::filepath)
                        .containsExactly("tools/http.py");
                assertThat(ci.search(query("vendored"))).isEmpty();
                assertThat(ci.search(query("Generated"))).isEmpty();
                assertThat(ci.search(query("draft")))
                        .extracting(CodeSearch.Hit::filepath)
                        .containsExactly("notes/Draft.java");
                // filters: language, source, the file being edited
                var python = new CodeSearch.Request(
                        "join non blank http header",
                        Optional.empty(),
                        Optional.of("python"),
                        Optional.empty(),
                        5,
                        false);
                assertThat(ci.search(python))
                        .extracting(CodeSearch.Hit::language)
                        .containsOnly("python");
                var other = new CodeSearch.Request(
                        "joinNonBlank",
                        Optional.of("https://example.invalid/other"),
                        Optional.empty(),
                        Optional.empty(),
                        5,
                        false);
                assertThat(ci.search(other)).isEmpty();
                var excluded = new CodeSearch.Request(
                        "joinNonBlank",
                        Optional.empty(),
                        Optional.empty(),
                        Optional.of("src/main/java/acme/util/TextUtils.java"),
                        5,
                        false);
                assertThat(ci.search(excluded))
                        .extracting(CodeSearch.Hit::filepath)
                        .doesNotContain("src/main/java/acme/util/TextUtils.java");
            }
        }
    }

    @Test
    void refreshesOnlyWhatGitSaysChanged(@TempDir Path tmp) throws Exception {
        try (TestRepo repo = sample(tmp.resolve("repo"))) {
            Path index = tmp.resolve("index");
            String source = Repository.of(repo.dir.toString()).source();
            try (var indexer = new Indexer(index, Optional.empty(), new Chunker(512), false)) {
                indexer.index(source, repo.dir, Indexer.Progress.NONE);
                Indexer.Report again = indexer.index(source, repo.dir, Indexer.Progress.NONE);
                assertThat(again.read()).isZero();
                assertThat(again.unchanged()).isEqualTo(again.files());

                repo.write(
                        "tools/http.py",
                        PY_HELPER + "\ndef format_http_header(name, value):\n    return f\"{name}: {value}\"\n"); // not
                // committed
                Files.delete(repo.dir.resolve("tools/main.py"));
                repo.write("tools/new_module.py", "def brand_new_function():\n    return 42\n");
                Indexer.Report third = indexer.index(source, repo.dir, Indexer.Progress.NONE);
                assertThat(third.read()).isEqualTo(2);
                assertThat(third.removed()).isEqualTo(1);
            }
            try (CodeIndex ci =
                    CodeIndex.open(index, Optional.empty(), SearchMode.BM25).orElseThrow()) {
                assertThat(ci.search(query("formatHttpHeader")))
                        .extracting(CodeSearch.Hit::filepath)
                        .contains("tools/http.py");
                assertThat(ci.search(query("brandNewFunction")).getFirst().filepath())
                        .isEqualTo("tools/new_module.py");
                assertThat(ci.search(query("print sys argv main")))
                        .extracting(CodeSearch.Hit::filepath)
                        .doesNotContain("tools/main.py");
            }
        }
    }

    @Test
    void vectorsFromTheEngineAndADifferentModelFallsBackToBm25(@TempDir Path tmp) throws Exception {
        try (TestRepo repo = sample(tmp.resolve("repo"))) {
            Path index = tmp.resolve("index");
            String source = Repository.of(repo.dir.toString()).source();
            Embedder embedder = new Embedder("synth-nomic-bert-tiny", nomic);
            try (var indexer = new Indexer(index, Optional.of(embedder), new Chunker(512), false)) {
                indexer.index(source, repo.dir, Indexer.Progress.NONE);
            }
            try (CodeIndex ci = CodeIndex.open(index, Optional.of(embedder), SearchMode.HYBRID)
                    .orElseThrow()) {
                assertThat(ci.mode()).isEqualTo(SearchMode.HYBRID);
                List<CodeSearch.Hit> vector = ci.search(query("joinNonBlank"), SearchMode.VECTOR);
                assertThat(vector).isNotEmpty().allSatisfy(h -> {
                    assertThat(h.embedding()).isBetween(-1.0, 1.0);
                    assertThat(h.bm25()).isEqualTo(-1.0);
                });
                List<CodeSearch.Hit> hybrid = ci.search(query("joinNonBlank"), SearchMode.HYBRID);
                assertThat(hybrid.getFirst().filepath()).endsWith("TextUtils.java");
                assertThat(hybrid.getFirst().bm25()).isPositive();
                assertThat(hybrid.getFirst().rrf()).isGreaterThan(1.0 / 61); // found by both rankings
            }
            // same id, other dimension; and another model id: vectors are not comparable, BM25 goes on
            EmbeddingModel narrow = new Truncated(nomic, 32);
            try (CodeIndex ci = CodeIndex.open(
                            index, Optional.of(new Embedder("synth-nomic-bert-tiny", narrow)), SearchMode.HYBRID)
                    .orElseThrow()) {
                assertThat(ci.mode()).isEqualTo(SearchMode.BM25);
                assertThat(ci.search(query("joinNonBlank"))).isNotEmpty();
            }
            try (CodeIndex ci = CodeIndex.open(
                            index, Optional.of(new Embedder("other-model", nomic)), SearchMode.HYBRID)
                    .orElseThrow()) {
                assertThat(ci.mode()).isEqualTo(SearchMode.BM25);
            }
            // indexing with no model after one: everything is indexed again, without vectors
            try (var indexer = new Indexer(index, Optional.empty(), new Chunker(512), false)) {
                assertThat(indexer.index(source, repo.dir, Indexer.Progress.NONE)
                                .read())
                        .isEqualTo(4);
            }
        }
    }

    @Test
    void aSecondWriterIsRefusedWithOneLine(@TempDir Path tmp) throws Exception {
        try (var first = new Indexer(tmp, Optional.empty(), new Chunker(512), false)) {
            assertThatThrownBy(() -> new Indexer(tmp, Optional.empty(), new Chunker(512), false))
                    .isInstanceOf(IndexException.class)
                    .hasMessageContaining("is locked by another writer");
        }
    }

    @Test
    void corruptIndexGivesNoSearchAndAReadableErrorUntilRebuilt(@TempDir Path tmp) throws Exception {
        try (TestRepo repo = sample(tmp.resolve("repo"))) {
            Path index = tmp.resolve("index");
            String source = Repository.of(repo.dir.toString()).source();
            try (var indexer = new Indexer(index, Optional.empty(), new Chunker(512), false)) {
                indexer.index(source, repo.dir, Indexer.Progress.NONE);
            }
            try (Stream<Path> files = Files.list(index)) {
                for (Path f : files.filter(f -> f.getFileName().toString().startsWith("segments_"))
                        .toList()) {
                    Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, StandardOpenOption.TRUNCATE_EXISTING);
                }
            }
            assertThat(CodeIndex.open(index, Optional.empty(), SearchMode.BM25)).isEmpty();
            assertThatThrownBy(() -> new Indexer(index, Optional.empty(), new Chunker(512), false))
                    .isInstanceOf(IndexException.class)
                    .hasMessageContaining("catnap index --rebuild");
            try (var indexer = new Indexer(index, Optional.empty(), new Chunker(512), true)) {
                assertThat(indexer.index(source, repo.dir, Indexer.Progress.NONE)
                                .read())
                        .isEqualTo(4);
            }
            assertThat(CodeIndex.open(index, Optional.empty(), SearchMode.BM25))
                    .isPresent()
                    .get()
                    .satisfies(ci -> ci.close());
        }
    }

    @Test
    void missingIndexAndNonRepositoryAndUnreadableFile(@TempDir Path tmp) throws Exception {
        assertThat(CodeIndex.open(tmp.resolve("absent"), Optional.empty(), SearchMode.BM25))
                .isEmpty();
        Files.createDirectories(tmp.resolve("empty"));
        assertThat(CodeIndex.open(tmp.resolve("empty"), Optional.empty(), SearchMode.BM25))
                .isEmpty();
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        try (var indexer = new Indexer(tmp.resolve("index"), Optional.empty(), new Chunker(512), false)) {
            assertThatThrownBy(() -> indexer.index("file:///plain", plain, Indexer.Progress.NONE))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("is not inside a git repository");
        }
        assertThat(Indexer.read(plain, "plain")).isEmpty(); // a directory cannot be read as a file
        assertThat(Indexer.looksLikeCode("x".repeat(400))).isFalse();
        assertThat(Indexer.looksLikeCode("def f():\n    return 1\n")).isTrue();
    }

    /** The first {@code dims} values of another model's vectors, renormalised: a model of another dimension. */
    record Truncated(EmbeddingModel inner, int dims) implements EmbeddingModel {
        public int dimensions() {
            return dims;
        }

        public float[] embed(String text) {
            float[] v = java.util.Arrays.copyOf(inner.embed(text), dims);
            double n = 0;
            for (float x : v) n += x * x;
            for (int i = 0; i < v.length; i++) v[i] /= (float) Math.sqrt(n);
            return v;
        }

        public void close() {}
    }
}
