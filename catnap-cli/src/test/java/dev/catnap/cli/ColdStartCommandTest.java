package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The cold-start benchmark's mechanics on the tiny model (its figures are for the report, not for tests). */
class ColdStartCommandTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(180)
    void oneColdStartThroughARealGatewayIsSplitIntoItsPhases() throws Exception {
        Path json = tmp.resolve("cold.json");
        CliRun r = CliRun.of(
                "cold-start",
                "--model",
                CliRun.FIXTURES.resolve("models/tiny-starcoder-17m-q8_0.gguf").toString(),
                "--runs",
                "1",
                "--serve-arg",
                "--threads",
                "--serve-arg",
                "1",
                "--json",
                json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(1))
                .startsWith("run")
                .contains("ttfb", "ready", "jvm", "init", "models", "http", "first", "rss");
        assertThat(lines.get(3)).startsWith("median ttfb=");
        assertThat(lines.get(4)).startsWith("max    ttfb=");

        JsonNode run = new ObjectMapper().readTree(json.toFile()).at("/runs/0");
        long ttfb = run.get("ttfbMs").asLong();
        long ready = run.get("readyMs").asLong();
        assertThat(ready).isPositive();
        assertThat(ttfb)
                .as("the request waits for the worker to be ready, then for its answer")
                .isGreaterThan(ready);
        assertThat(run.get("afterReadyMs").asLong()).isEqualTo(ttfb - ready);
        for (String phase : List.of("jvmMs", "initMs", "modelsMs", "httpMs"))
            assertThat(run.get(phase).asLong()).as(phase).isNotNegative();
        // (the HTTP start is left out: Jetty listens, and the gateway's TCP probe succeeds, before its start returns)
        assertThat(run.get("initMs").asLong() + run.get("modelsMs").asLong())
                .as("the worker's phases before listening fit in the gateway's start-to-ready")
                .isLessThanOrEqualTo(ready);
        assertThat(run.get("warmupMs").asLong()).isZero();
        assertThat(run.get("firstCompletionMs").asLong()).isPositive().isLessThan(ttfb);
        assertThat(run.get("rssMiB").asLong()).isPositive();
        assertThat(run.get("warmMs").asLong()).isPositive();
    }

    @Test
    void badInputIsOneLine() {
        CliRun runs = CliRun.of("cold-start", "--model", "x.gguf", "--runs", "0");
        assertThat(runs.exit()).isEqualTo(2);
        assertThat(runs.err()).isEqualTo("catnap cold-start: --runs must be in 1..100" + System.lineSeparator());
        CliRun jar = CliRun.of(
                "cold-start",
                "--model",
                "x.gguf",
                "--jar",
                tmp.resolve("none.jar").toString());
        assertThat(jar.exit()).isEqualTo(2);
        assertThat(jar.err()).startsWith("catnap cold-start: no such jar: ");
    }
}
