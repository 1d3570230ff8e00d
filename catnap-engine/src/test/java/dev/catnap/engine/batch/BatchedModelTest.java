package dev.catnap.engine.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.ContextOverflowException;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Fixtures;
import dev.catnap.engine.model.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The continuous batch on the trained model, without a tokenizer (so end-of-generation tokens do not stop, as in the
 * fixtures' greedy rule).
 */
class BatchedModelTest {
    private static BatchedModel model;
    private static List<Case> cases;

    record Case(String name, int[] prompt, int[] greedy, float[] gaps) {}

    /** The sink a test waits on: tokens so far, then how it finished. */
    static final class Collector implements TokenSink {
        final List<Integer> tokens = new ArrayList<>();
        final CompletableFuture<FinishReason> done = new CompletableFuture<>();
        final int stopAfter;

        Collector(int stopAfter) {
            this.stopAfter = stopAfter;
        }

        @Override
        public boolean accept(int token) {
            tokens.add(token);
            return tokens.size() < stopAfter;
        }

        @Override
        public void finished(FinishReason reason, Throwable errorOrNull) {
            done.complete(reason);
        }

        int[] result() throws Exception {
            done.get(60, TimeUnit.SECONDS);
            return tokens.stream().mapToInt(Integer::intValue).toArray();
        }
    }

    @BeforeAll
    static void load() throws Exception {
        var file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
        model = (BatchedModel) Engine.languageModel(file, null, new EngineOptions(2, 10, 64L << 20));
        cases = readCases(Fixtures.expected("tiny-starcoder-17m-q8_0.cases.json"));
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    @Test
    void batchedGreedyMatchesLlamaCppAndSequentialRuns() throws Exception {
        int steps = 24;
        // All eight cases at once: they decode together in one batch.
        List<Collector> together = new ArrayList<>();
        for (Case c : cases) {
            var sink = new Collector(Integer.MAX_VALUE);
            model.submit(new GenerationRequest(c.prompt, steps, SamplingParams.greedy()), sink);
            together.add(sink);
        }
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            int[] got = together.get(i).result();
            assertThat(together.get(i).done.get()).isEqualTo(FinishReason.LENGTH);
            assertThat(got).hasSize(steps);
            // Free-running tokens agree with llama.cpp up to the first near tie (gap below 0.1).
            for (int s = 0; s < steps && c.gaps[s] >= 0.1f; s++) {
                assertThat(got[s]).as("%s step %d", c.name, s).isEqualTo(c.greedy[s]);
            }
        }
        // The same sequences one at a time give exactly the same tokens.
        for (int i = 0; i < cases.size(); i++) {
            var sink = new Collector(Integer.MAX_VALUE);
            model.submit(new GenerationRequest(cases.get(i).prompt, steps, SamplingParams.greedy()), sink);
            assertThat(sink.result())
                    .as(cases.get(i).name)
                    .containsExactly(together.get(i).result());
        }
    }

    @Test
    void sinkReturningFalseStopsAndCancelFreesTheSlot() throws Exception {
        Case c = cases.getFirst();
        var stopped = new Collector(3);
        model.submit(new GenerationRequest(c.prompt, 20, SamplingParams.greedy()), stopped);
        assertThat(stopped.done.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.STOPPED);
        assertThat(stopped.tokens).hasSize(3);

        var cancelled = new Collector(Integer.MAX_VALUE);
        var handle = model.submit(new GenerationRequest(c.prompt, 1000, SamplingParams.greedy()), cancelled);
        handle.cancel();
        assertThat(cancelled.done.get(60, TimeUnit.SECONDS)).isEqualTo(FinishReason.CANCELLED);
        assertThat(cancelled.tokens.size()).isLessThan(1000);
    }

    @Test
    void promptPlusNewTokensBeyondTheContextIsRejected() {
        int context = model.contextLength();
        assertThatThrownBy(() -> model.submit(
                        new GenerationRequest(new int[context - 10], 11, SamplingParams.greedy()), new Collector(1)))
                .isInstanceOf(ContextOverflowException.class)
                .hasMessageContaining("exceeds the context of " + context);
        assertThatThrownBy(() -> model.submit(
                        new GenerationRequest(new int[] {1, 999_999}, 1, SamplingParams.greedy()), new Collector(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("999999");
    }

    @Test
    void theKvBudgetBoundsRequestsAndAdmission() throws Exception {
        long perPosition = 2L * 6 * 64 * Float.BYTES; // 6 layers, one KV head of 64
        var file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
        try (var small = (BatchedModel) Engine.languageModel(file, null, new EngineOptions(1, 10, 100 * perPosition))) {
            int[] prompt = cases.getFirst().prompt;
            // The budget, asked once: what a caller fits its prompt to so that no request is refused for length.
            assertThat(small.maxPositions()).isEqualTo(100);
            assertThat(model.maxPositions()).isEqualTo(model.contextLength());
            assertThatThrownBy(() ->
                            small.submit(new GenerationRequest(prompt, 100, SamplingParams.greedy()), new Collector(1)))
                    .isInstanceOf(ContextOverflowException.class)
                    .hasMessageContaining("KV cache");
            // Two requests of 60 positions each do not fit together: the second waits for the first, then runs.
            var first = new Collector(Integer.MAX_VALUE);
            var second = new Collector(Integer.MAX_VALUE);
            small.submit(new GenerationRequest(prompt, 60 - prompt.length, SamplingParams.greedy()), first);
            small.submit(new GenerationRequest(prompt, 60 - prompt.length, SamplingParams.greedy()), second);
            assertThat(second.result()).containsExactly(first.result());
            assertThat(second.done.get()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void seededSamplingIsReproducible() throws Exception {
        Case c = cases.get(1);
        var params = new SamplingParams(0.8f, 40, 0.95f, 0.05f, 1.1f, 0.2f, 64, 42);
        var a = new Collector(Integer.MAX_VALUE);
        var b = new Collector(Integer.MAX_VALUE);
        model.submit(new GenerationRequest(c.prompt, 12, params), a);
        model.submit(new GenerationRequest(c.prompt, 12, params), b);
        assertThat(a.result()).containsExactly(b.result());
    }

    private static List<Case> readCases(Path path) throws Exception {
        List<Case> out = new ArrayList<>();
        for (Object o : Json.array(Json.object(Json.read(path)).get("cases"))) {
            var c = Json.object(o);
            out.add(new Case(
                    (String) c.get("name"),
                    Json.ints(c.get("prompt_tokens")),
                    Json.ints(c.get("greedy_tokens")),
                    Json.floats(c.get("greedy_step_top1_top2_gap"))));
        }
        return out;
    }
}
