package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    static final Path FIXTURES = CliRun.FIXTURES;
    static final String STARCODER =
            FIXTURES.resolve("models/tiny-starcoder-17m-q8_0.gguf").toString();

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void printsTheIdsLlamaCppGives() {
        // the prompt of synth-starcoder-tiny-f32.fib.json, whose prompt_tokens llama.cpp recorded
        CliRun r = run("tokenize", "--model", STARCODER, "def fib(n):\n    return");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("610 28319 45 115 731 303 461" + System.lineSeparator());
    }

    @Test
    void specialParsesSpecialTokenText() {
        CliRun plain = run("tokenize", "--model", STARCODER, "<fim_prefix>x<fim_middle>");
        CliRun special = run("tokenize", "--model", STARCODER, "--special", "<fim_prefix>x<fim_middle>");
        assertThat(special.exit()).isZero();
        assertThat(special.out().strip().split(" ")).containsExactly("1", "125", "2");
        assertThat(plain.out().strip().split(" ")).hasSizeGreaterThan(3).doesNotContain("1", "2");
    }

    @Test
    void emptyTextPrintsAnEmptyLine() {
        CliRun r = run("tokenize", "--model", STARCODER, "");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(System.lineSeparator());
    }

    @Test
    void badInputsGetOneReadableLine(@TempDir Path dir) throws IOException {
        CliRun missing = run("tokenize", "--model", dir.resolve("nope.gguf").toString(), "x");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap tokenize: model file not found");

        Path junk = Files.write(dir.resolve("junk.gguf"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        CliRun bad = run("tokenize", "--model", junk.toString(), "x");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().lines().toList())
                .singleElement()
                .asString()
                .startsWith("catnap tokenize: ")
                .contains("junk.gguf");

        CliRun noTokenizer = run(
                "tokenize", "--model", FIXTURES.resolve("quant/quant-q8_0.gguf").toString(), "x");
        assertThat(noTokenizer.exit()).isEqualTo(2);
        assertThat(noTokenizer.err().lines().toList())
                .singleElement()
                .asString()
                .isEqualTo(
                        "catnap tokenize: quant-q8_0.gguf: GGUF metadata has no tokenizer (tokenizer.ggml.model is missing)");
    }
}
