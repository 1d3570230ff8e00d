package dev.catnap.engine.tokenizer.bench;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Tokenization throughput on 1 MB (10^6 UTF-8 bytes) of generated Java and Python source, for the StarCoder and Qwen2
 * vocabularies. One operation encodes the whole megabyte, so ops/s is MB/s.
 *
 * <p>{@code source}: realistic code, whose identifiers repeat (the tokenizer's word cache is warm after the first
 * operation, as in a server). {@code uniqueWords}: every identifier is new, so most words miss the cache and go through
 * BPE merging.
 *
 * <p>Run: {@code scripts/jmh catnap-engine TokenizerBenchmark -f 1 -wi 2 -i 3}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:MaxInlineLevel=30", "-Xmx2g"})
public class TokenizerBenchmark {
    static final int TEXT_BYTES = 1_000_000;

    @Param({"starcoder", "qwen2"})
    public String vocabulary;

    @Param({"source", "uniqueWords"})
    public String text;

    private Tokenizer tokenizer;
    private String[] inputs;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path fixtures = Path.of(System.getProperty("catnap.fixtures", "../shared/fixtures"));
        try (GGUFFile file = GGUFFile.open(fixtures.resolve("vocab/ggml-vocab-" + vocabulary + ".gguf"))) {
            tokenizer = Tokenizer.fromGGUF(file.metadata());
        }
        boolean unique = text.equals("uniqueWords");
        // uniqueWords cycles through several texts so that repeated operations do not see the same words again
        inputs = new String[unique ? 16 : 1];
        for (int i = 0; i < inputs.length; i++) inputs[i] = SourceText.generate(1234 + i, TEXT_BYTES, unique);
    }

    @Benchmark
    public int[] encode() {
        String input = inputs[next];
        next = (next + 1) % inputs.length;
        return tokenizer.encode(input, false, false);
    }

    /** Deterministic Java- and Python-like source text. */
    static final class SourceText {
        private static final String[] WORDS = {
            "value",
            "count",
            "index",
            "buffer",
            "result",
            "node",
            "list",
            "map",
            "name",
            "size",
            "offset",
            "token",
            "reader",
            "writer",
            "parse",
            "format",
            "cache",
            "entry",
            "key",
            "item",
            "request",
            "response",
            "handler",
            "config",
            "stream",
            "file",
            "path",
            "line",
            "total",
            "limit"
        };
        private static final String[] COMMENTS = {
            "Returns the number of elements, or -1 when unknown.",
            "Thread-safe: callers may share one instance.",
            "See RFC 7230 §3.2 for the header grammar.",
            "Fast path: avoid the copy when the buffer is already large enough.",
            "TODO(perf): cache this → it is called per token",
            "naïve implementation; fine for small inputs",
            "Überprüft die Eingabe – gibt null zurück, wenn leer.",
            "处理空输入的情况",
            "ε-close comparison of doubles"
        };

        private final SplittableRandom random;
        private final boolean unique;
        private final StringBuilder out = new StringBuilder();

        private SourceText(long seed, boolean unique) {
            this.random = new SplittableRandom(seed);
            this.unique = unique;
        }

        static String generate(long seed, int utf8Bytes, boolean unique) {
            SourceText g = new SourceText(seed, unique);
            while (g.out.length() < utf8Bytes) {
                if (g.random.nextBoolean()) g.javaClass();
                else g.pythonModule();
            }
            // cut to exactly utf8Bytes bytes of UTF-8 (dropping a character that would be cut in half)
            byte[] bytes = g.out.toString().getBytes(StandardCharsets.UTF_8);
            int end = utf8Bytes;
            while (end > 0 && (bytes[end] & 0xC0) == 0x80) end--;
            String s = new String(bytes, 0, end, StandardCharsets.UTF_8);
            StringBuilder padded = new StringBuilder(s);
            while (padded.toString().getBytes(StandardCharsets.UTF_8).length < utf8Bytes) padded.append(' ');
            return padded.toString();
        }

        private String word() {
            return WORDS[random.nextInt(WORDS.length)];
        }

        private String ident() {
            String w = word();
            if (random.nextInt(3) == 0) w += Character.toUpperCase(word().charAt(0)) + word().substring(1);
            if (unique) w += Integer.toString(random.nextInt(1 << 30), 36);
            return w;
        }

        private String type() {
            return switch (random.nextInt(6)) {
                case 0 -> "int";
                case 1 -> "String";
                case 2 -> "List<String>";
                case 3 -> "Map<String, Integer>";
                case 4 -> "long";
                default -> Character.toUpperCase(word().charAt(0)) + word().substring(1);
            };
        }

        private void javaClass() {
            String cls = Character.toUpperCase(word().charAt(0)) + ident().substring(1);
            out.append("package dev.example.").append(word()).append(";\n\nimport java.util.*;\n\n");
            out.append("/** ").append(COMMENTS[random.nextInt(COMMENTS.length)]).append(" */\n");
            out.append("public final class ").append(cls).append(" {\n");
            int fields = 2 + random.nextInt(4);
            for (int i = 0; i < fields; i++) {
                out.append("    private final ")
                        .append(type())
                        .append(' ')
                        .append(ident())
                        .append(";\n");
            }
            int methods = 2 + random.nextInt(5);
            for (int m = 0; m < methods; m++) {
                out.append("\n    // ")
                        .append(COMMENTS[random.nextInt(COMMENTS.length)])
                        .append('\n');
                String a = ident(), b = ident();
                out.append("    public ")
                        .append(type())
                        .append(' ')
                        .append(ident())
                        .append('(')
                        .append(type())
                        .append(' ')
                        .append(a)
                        .append(", int ")
                        .append(b)
                        .append(") {\n");
                out.append("        if (")
                        .append(a)
                        .append(" == null || ")
                        .append(b)
                        .append(" < ")
                        .append(random.nextInt(1000))
                        .append(") {\n");
                out.append("            throw new IllegalArgumentException(\"")
                        .append(word())
                        .append(" must be at least ")
                        .append(random.nextInt(100))
                        .append(": \" + ")
                        .append(b)
                        .append(");\n        }\n");
                out.append("        for (int i = 0; i < ").append(b).append("; i++) {\n");
                out.append("            ")
                        .append(ident())
                        .append(" += ")
                        .append(a)
                        .append(".get(i) * ")
                        .append(random.nextInt(64))
                        .append(";\n        }\n");
                out.append("        return ")
                        .append(a)
                        .append(".")
                        .append(ident())
                        .append("();\n    }\n");
            }
            out.append("}\n\n");
        }

        private void pythonModule() {
            out.append("import os\nimport sys\nfrom typing import Optional\n\n\n");
            int functions = 2 + random.nextInt(4);
            for (int f = 0; f < functions; f++) {
                String a = ident(), b = ident();
                out.append("def ")
                        .append(ident())
                        .append('(')
                        .append(a)
                        .append(", ")
                        .append(b)
                        .append("=None):\n");
                out.append("    \"\"\"")
                        .append(COMMENTS[random.nextInt(COMMENTS.length)])
                        .append("\"\"\"\n");
                out.append("    if ")
                        .append(b)
                        .append(" is None:\n        ")
                        .append(b)
                        .append(" = {}\n");
                out.append("    for ")
                        .append(ident())
                        .append(" in range(")
                        .append(random.nextInt(100))
                        .append("):\n");
                out.append("        ")
                        .append(a)
                        .append('[')
                        .append(random.nextInt(10))
                        .append("] = f\"")
                        .append(word())
                        .append(": {")
                        .append(b)
                        .append("!r}\"\n");
                out.append("    return ")
                        .append(a)
                        .append(" or ")
                        .append(random.nextInt(1 << 16))
                        .append("\n\n\n");
            }
        }
    }
}
