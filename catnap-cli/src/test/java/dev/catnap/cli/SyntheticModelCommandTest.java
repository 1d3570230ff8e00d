package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class SyntheticModelCommandTest {
    @TempDir
    Path tmp;

    @Test
    void badInputsAreOneLineAndExitTwo() {
        CliRun type =
                CliRun.of("synthetic-model", "--out", tmp.resolve("m.gguf").toString(), "--type", "q5_k");
        assertThat(type.exit()).isEqualTo(2);
        assertThat(type.err())
                .isEqualTo(
                        "catnap synthetic-model: --type must be q8_0, q4_0 or f16, got q5_k" + System.lineSeparator());
        CliRun dir = CliRun.of(
                "synthetic-model", "--out", tmp.resolve("no/such/m.gguf").toString());
        assertThat(dir.exit()).isEqualTo(2);
        assertThat(dir.err()).startsWith("catnap synthetic-model: no such directory: ");
        CliRun vocab = CliRun.of(
                "synthetic-model",
                "--out",
                tmp.resolve("m.gguf").toString(),
                "--vocab",
                tmp.resolve("none.gguf").toString());
        assertThat(vocab.exit()).isEqualTo(2);
        assertThat(vocab.err()).startsWith("catnap synthetic-model: no such vocabulary file: ");
        assertThat(CliRun.of("synthetic-model", "--out", tmp.resolve("m.gguf").toString(), "--layers", "0")
                        .exit())
                .isEqualTo(2);
    }

    @Test
    @Timeout(120)
    void theAotTrainingRunServesCompletionsOnItsSyntheticModelWithoutNetworkOrFixtures() {
        CliRun train = CliRun.of("aot-train", "--no-gateway", "--completions", "2");
        assertThat(train.exit()).as(train.err()).isZero();
        assertThat(train.out()).isEqualTo("aot-train: done" + System.lineSeparator());
    }
}
