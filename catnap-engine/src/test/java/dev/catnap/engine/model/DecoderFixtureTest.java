package dev.catnap.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.cpu.CpuBackend;
import dev.catnap.engine.cpu.CpuDecoder;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.sampling.Sampler;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Logits against llama.cpp on the synthetic models, with teacher forcing: the prompt plus the fixture's greedy tokens
 * run as one batch, and every position's logits are compared. Observed: 1.2e-7 on every model, F32 and quantized
 * alike (GELU goes through ggml's F16 table, and activations are rounded to Q8_0 for quantized weights, as in ggml;
 * before that rounding the quantized models differed by up to 6.7e-3). The bound leaves room for float rounding.
 */
class DecoderFixtureTest {

    @ParameterizedTest
    @CsvSource({
        "synth-starcoder-tiny-f32, 0.00002",
        "synth-starcoder-tiny-q8_0, 0.00002",
        "synth-starcoder-tiny-q4_0, 0.00002",
        "synth-qwen2-tiny-q8_0, 0.00002",
    })
    void logitsMatchLlamaCpp(String name, float tolerance) throws Exception {
        Map<String, Object> fx = Json.object(Json.read(Fixtures.expected(name + ".fib.json")));
        int[] prompt = Json.ints(fx.get("prompt_tokens"));
        int[] greedy = Json.ints(fx.get("greedy_tokens"));
        float[] lastLogits = Json.floats(fx.get("last_logits"));
        List<Object> top5 = Json.array(fx.get("greedy_step_top5"));

        try (GGUFFile file = GGUFFile.open(Fixtures.model(name + ".gguf"));
                Decoder decoder = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(2))) {
            int vocab = decoder.config().vocabSize();
            assertThat(vocab).isEqualTo(((Number) fx.get("n_vocab")).intValue());
            float[] logits = teacherForced(decoder, prompt, greedy);

            float maxDiff = 0;
            for (int i = 0; i < vocab; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i] - lastLogits[i]));
            assertThat(maxDiff).as("all logits of the last prompt position").isLessThanOrEqualTo(tolerance);

            for (int s = 0; s < greedy.length; s++) {
                List<Object> top = Json.array(top5.get(s));
                for (Object entry : top) {
                    int id = ((Number) Json.array(entry).get(0)).intValue();
                    float expected = (float) ((Number) Json.array(entry).get(1)).doubleValue();
                    assertThat(logits[s * vocab + id])
                            .as("step %d logit of %d", s, id)
                            .isCloseTo(expected, org.assertj.core.data.Offset.offset(tolerance));
                }
                float gap = (float) (((Number) Json.array(top.get(0)).get(1)).doubleValue()
                        - ((Number) Json.array(top.get(1)).get(1)).doubleValue());
                if (gap >= 0.02f) {
                    assertThat(Sampler.argmax(logits, s * vocab, vocab))
                            .as("greedy token at step %d", s)
                            .isEqualTo(greedy[s]);
                }
            }
        }
    }

    /**
     * The trained model, teacher-forced on each case: top-5 logits of every step within 0.2 (observed 0.143; the
     * README's bound for a float32 port is 0.3), all logits of the first case's last prompt position too, and the greedy token wherever llama.cpp's
     * top-1/top-2 gap is at least 0.1.
     */
    @org.junit.jupiter.api.Test
    void trainedModelLogitsMatchLlamaCpp() throws Exception {
        Map<String, Object> fx = Json.object(Json.read(Fixtures.expected("tiny-starcoder-17m-q8_0.cases.json")));
        try (GGUFFile file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
                Decoder decoder = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(2))) {
            int vocab = decoder.config().vocabSize();
            float worst = 0;
            for (Object o : Json.array(fx.get("cases"))) {
                Map<String, Object> c = Json.object(o);
                int[] prompt = Json.ints(c.get("prompt_tokens"));
                int[] greedy = Json.ints(c.get("greedy_tokens"));
                float[] gaps = Json.floats(c.get("greedy_step_top1_top2_gap"));
                List<Object> top5 = Json.array(c.get("greedy_step_top5"));
                float[] logits = teacherForced(decoder, prompt, greedy);
                if (c.containsKey("last_logits")) {
                    float[] last = Json.floats(c.get("last_logits"));
                    for (int i = 0; i < vocab; i++) worst = Math.max(worst, Math.abs(logits[i] - last[i]));
                }
                for (int s = 0; s < greedy.length; s++) {
                    for (Object entry : Json.array(top5.get(s))) {
                        int id = ((Number) Json.array(entry).get(0)).intValue();
                        float expected = (float) ((Number) Json.array(entry).get(1)).doubleValue();
                        worst = Math.max(worst, Math.abs(logits[s * vocab + id] - expected));
                    }
                    if (gaps[s] >= 0.1f) {
                        assertThat(Sampler.argmax(logits, s * vocab, vocab))
                                .as("%s step %d", c.get("name"), s)
                                .isEqualTo(greedy[s]);
                    }
                }
            }
            assertThat(worst).as("largest logit difference").isLessThanOrEqualTo(0.2f);
        }
    }

    /**
     * One forward pass over the prompt followed by all but the last greedy token, in one sequence: the logits of the
     * last prompt position and of every greedy step after it, {@code greedy.length} rows of the vocabulary.
     */
    private static float[] teacherForced(Decoder decoder, int[] prompt, int[] greedy) {
        int n = prompt.length + greedy.length - 1;
        int[] tokens = new int[n];
        System.arraycopy(prompt, 0, tokens, 0, prompt.length);
        System.arraycopy(greedy, 0, tokens, prompt.length, greedy.length - 1);
        int[] positions = new int[n];
        SequenceCache[] caches = new SequenceCache[n];
        SequenceCache cache = decoder.newCache(n);
        for (int t = 0; t < n; t++) {
            positions[t] = t;
            caches[t] = cache;
        }
        int[] rows = new int[greedy.length];
        for (int s = 0; s < greedy.length; s++) rows[s] = prompt.length - 1 + s;
        float[] logits = new float[rows.length * decoder.config().vocabSize()];
        decoder.forward(tokens, positions, caches, rows, logits);
        return logits;
    }
}
