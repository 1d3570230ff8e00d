package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizeCommandTest {
    static final Path FIXTURES = Path.of(System.getProperty("catnap.fixtures", "../../shared/fixtures"));
    static final String STARCODER = FIXTURES.resolve("models/tiny-starcoder-17m-q8_0.gguf").toString();

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        var cl = Main.commandLine();
        var out = new StringWriter();
        var err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void printsTheIdsLlamaCppGives() {
        // the prompt of synth-starcoder-tiny-f32.fib.json, whose prompt_tokens llama.cpp recorded
        Run r = run("tokenize", "--model", STARCODER, "def fib(n):\n    return");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("610 28319 45 115 731 303 461" + System.lineSeparator());
    }

    @Test
    void specialParsesSpecialTokenText() {
        Run plain = run("tokenize", "--model", STARCODER, "<fim_prefix>x<fim_middle>");
        Run special = run("tokenize", "--model", STARCODER, "--special", "<fim_prefix>x<fim_middle>");
        assertThat(special.exit()).isZero();
        assertThat(special.out().strip().split(" ")).containsExactly("1", "125", "2");
        assertThat(plain.out().strip().split(" ")).hasSizeGreaterThan(3).doesNotContain("1", "2");
    }

    @Test
    void emptyTextPrintsAnEmptyLine() {
        Run r = run("tokenize", "--model", STARCODER, "");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(System.lineSeparator());
    }

    @Test
    void badInputsGetOneReadableLine(@TempDir Path dir) throws IOException {
        Run missing = run("tokenize", "--model", dir.resolve("nope.gguf").toString(), "x");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err().lines().toList()).singleElement().asString()
                .startsWith("catnap tokenize: model file not found");

        Path junk = Files.write(dir.resolve("junk.gguf"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        Run bad = run("tokenize", "--model", junk.toString(), "x");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().lines().toList()).singleElement().asString().startsWith("catnap tokenize: ").contains("junk.gguf");

        Run noTokenizer = run("tokenize", "--model", FIXTURES.resolve("quant/quant-q8_0.gguf").toString(), "x");
        assertThat(noTokenizer.exit()).isEqualTo(2);
        assertThat(noTokenizer.err().lines().toList()).singleElement().asString()
                .isEqualTo("catnap tokenize: quant-q8_0.gguf: GGUF metadata has no tokenizer (tokenizer.ggml.model is missing)");
    }
}
