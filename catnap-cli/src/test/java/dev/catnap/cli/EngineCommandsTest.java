package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.catnap.engine.cuda.Cuda;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** generate, embed and bench on the small fixture models. */
@Timeout(120)
class EngineCommandsTest {
    private static final Path FIXTURES = CliRun.FIXTURES;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    static String model(String name) {
        return FIXTURES.resolve("models").resolve(name).toString();
    }

    @Test
    void generateContinuesThePromptGreedilyAsLlamaCpp() {
        // py_plain_fib of tiny-starcoder-17m-q8_0.cases.json: llama.cpp's first greedy tokens decode to this text.
        var r = run(
                "generate",
                "--model",
                model("tiny-starcoder-17m-q8_0.gguf"),
                "--threads",
                "2",
                "--max-tokens",
                "12",
                "--prompt",
                "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n"
                        + "        return n\n    return");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith(" n\n\ndef n_decode(s");
    }

    @Test
    void generateWithSuffixBuildsAFillInTheMiddlePrompt() {
        var r = run(
                "generate",
                "--model",
                model("tiny-starcoder-17m-q8_0.gguf"),
                "--threads",
                "2",
                "--max-tokens",
                "8",
                "--prompt",
                "def add(a, b):\n    return ",
                "--suffix",
                "\n\nprint(add(1, 2))\n");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isNotBlank();
    }

    @Test
    void fillInTheMiddlePromptHasTheFixtureTokens() throws Exception {
        // java_fim_size of tiny-starcoder-17m-q8_0.cases.json, whose prompt is <fim_prefix>P<fim_suffix>S<fim_middle>.
        String json = Files.readString(FIXTURES.resolve("expected/tiny-starcoder-17m-q8_0.cases.json"));
        int at = json.indexOf("\"name\": \"java_fim_size\"");
        assertThat(at).isPositive();
        int promptStart = json.indexOf("\"prompt\": \"", at) + 11;
        String raw = json.substring(promptStart, json.indexOf("<fim_middle>", promptStart) + "<fim_middle>".length());
        String prompt = raw.replace("\\n", "\n").replace("\\t", "\t").replace("\\\"", "\"");
        String prefix = prompt.substring("<fim_prefix>".length(), prompt.indexOf("<fim_suffix>"));
        String suffix = prompt.substring(
                prompt.indexOf("<fim_suffix>") + "<fim_suffix>".length(), prompt.indexOf("<fim_middle>"));
        int tokensStart = json.indexOf("[", json.indexOf("\"prompt_tokens\"", at)) + 1;
        int[] expected = java.util.Arrays.stream(json.substring(tokensStart, json.indexOf("]", tokensStart))
                        .split(","))
                .map(String::trim)
                .mapToInt(Integer::parseInt)
                .toArray();
        try (var file = dev.catnap.engine.gguf.GGUFFile.open(Path.of(model("tiny-starcoder-17m-q8_0.gguf")))) {
            var tokenizer = dev.catnap.engine.tokenizer.Tokenizer.fromGGUF(file.metadata());
            assertThat(GenerateCommand.promptTokens(tokenizer, prefix, suffix)).containsExactly(expected);
        }
    }

    @Test
    void generateRejectsBadInputWithOneLine() {
        var missing = run("generate", "--model", "/nonexistent/model.gguf", "--prompt", "x");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("model file not found").hasLineCount(1);

        var notAModel = run(
                "generate",
                "--model",
                FIXTURES.resolve("vocab/ggml-vocab-qwen2.gguf").toString(),
                "--prompt",
                "x");
        assertThat(notAModel.exit()).isEqualTo(2);
        assertThat(notAModel.err()).contains("tensor").hasLineCount(1);

        var embedder = run("generate", "--model", model("synth-bert-tiny-f32.gguf"), "--prompt", "x");
        assertThat(embedder.exit()).isEqualTo(2);
        assertThat(embedder.err()).contains("not supported for generation").hasLineCount(1);
    }

    @Test
    void embedPrintsOneNormalisedArrayPerText() {
        var r = run(
                "embed",
                "--model",
                model("synth-nomic-bert-tiny-f32.gguf"),
                "--threads",
                "1",
                "hello world",
                "int x = 1;");
        assertThat(r.exit()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(2);
        for (String line : lines) {
            assertThat(line).startsWith("[").endsWith("]");
            double sq = 0;
            String[] values = line.substring(1, line.length() - 1).split(",");
            assertThat(values).hasSize(64);
            for (String v : values) sq += Math.pow(Double.parseDouble(v), 2);
            assertThat(sq).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @Test
    void benchPrintsOneJsonObject() {
        var r = run(
                "bench",
                "--model",
                model("synth-starcoder-tiny-q8_0.gguf"),
                "--threads",
                "2",
                "--prompt-tokens",
                "32",
                "--gen-tokens",
                "4",
                "--batch",
                "1,3");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().strip())
                .startsWith("{")
                .endsWith("}")
                .contains(
                        "\"prompt_tokens_per_second\":",
                        "\"time_to_first_token_ms\":",
                        "\"batch\":1",
                        "\"batch\":3",
                        "\"peak_rss_mib\":",
                        "\"device\":\"cpu\"",
                        "\"repetitions\":2")
                .doesNotContain("\"gpu\"");
        var bad = run("bench", "--model", model("synth-starcoder-tiny-q8_0.gguf"), "--batch", "0");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--batch");
        var noRepetition = run("bench", "--model", model("synth-starcoder-tiny-q8_0.gguf"), "--repetitions", "0");
        assertThat(noRepetition.exit()).isEqualTo(2);
        assertThat(noRepetition.err()).contains("--repetitions must be between 1 and 100");
    }

    @Test
    void cudaWithoutAGpuIsOneLineForGenerateAndBench() {
        assumeFalse(Cuda.probe().available(), "this machine has a CUDA GPU");
        for (String command : new String[] {"generate --prompt x", "bench --gen-tokens 2"}) {
            List<String> args = new ArrayList<>(List.of(command.split(" ")));
            args.addAll(List.of("--model", model("synth-starcoder-tiny-q8_0.gguf"), "--device", "cuda"));
            var r = run(args.toArray(String[]::new));
            assertThat(r.exit()).as(command).isNotZero();
            assertThat(r.err())
                    .as(command)
                    .startsWith("catnap " + args.getFirst() + ": --device cuda: ")
                    .hasLineCount(1);
            assertThat(r.out()).as(command).isEmpty();
        }
        var tpu = run("bench", "--model", model("synth-starcoder-tiny-q8_0.gguf"), "--device", "tpu");
        assertThat(tpu.exit()).isEqualTo(2);
        assertThat(tpu.err()).contains("unknown device 'tpu' (choose cpu or cuda)");
    }
}
