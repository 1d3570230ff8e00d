package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.gguf.GGUFWriter;
import dev.catnap.engine.model.Architecture;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.Fixtures;
import dev.catnap.engine.model.SequenceCache;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole model with k-quant weights, laid out as a Q4_K_M file (Q4_K, Q5_K and Q6_K matrices, a Q6_K token
 * embedding that is also the output head, one BF16 matrix): the trained tiny StarCoder's shapes, metadata and
 * tokenizer with random blocks in place of its Q8_0 matrices (this engine has no k-quant quantizer). Its twin stores
 * Dequantize's values of the same blocks as F32. Because the kernels use exactly those weight values and the F32
 * kernels' FMA order, the two must give identical logits, in the prompt batch and in one-token decode steps.
 */
class KQuantModelTest {
    private static final int STEPS = 4;

    /** The type a Q4_K_M-style file would give each matrix; null for tensors copied unchanged. */
    private static GGMLType typeOf(String name) {
        if (name.equals("token_embd.weight")) return GGMLType.Q6_K;
        if (name.endsWith(".attn_qkv.weight") || name.endsWith(".ffn_up.weight")) return GGMLType.Q4_K;
        if (name.endsWith(".ffn_down.weight")) return GGMLType.Q6_K;
        if (name.equals("blk.1.attn_output.weight")) return GGMLType.BF16;
        if (name.endsWith(".attn_output.weight")) return GGMLType.Q5_K;
        return null;
    }

    /** f16 scale sizes that give weights of a few hundredths, as in a trained model. */
    private static float scaleMagnitude(GGMLType type) {
        return switch (type) {
            case Q4_K -> 1e-4f;
            case Q5_K -> 5e-5f;
            case Q6_K -> 1e-5f;
            default -> 0.03f;
        };
    }

    private static void writeModels(Path kquant, Path twin) throws Exception {
        try (GGUFFile src = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"))) {
            var k = new GGUFWriter().putAll(src.metadata()).putUInt32("general.file_type", 15); // MOSTLY_Q4_K_M
            var f = new GGUFWriter().putAll(src.metadata()).putUInt32("general.file_type", 0);
            var random = new SplittableRandom(2026);
            int replaced = 0;
            for (GGUFTensor t : src.tensors().values()) {
                GGMLType type = typeOf(t.name());
                if (type == null) {
                    k.addTensor(t);
                    f.addTensor(t);
                    continue;
                }
                MemorySegment blocks =
                        KQuantMatMulTest.randomBlocks(type, t.dim(0), t.dim(1), random, scaleMagnitude(type));
                k.addTensor(t.name(), type, t.shape(), blocks);
                f.addTensor(
                        t.name(),
                        GGMLType.F32,
                        t.shape(),
                        (first, dst, count) -> Dequantize.dequantize(type, blocks, first, dst, 0, count));
                replaced++;
            }
            assertThat(replaced).as("matrices replaced").isEqualTo(25);
            k.write(kquant);
            f.write(twin);
        }
    }

    @Test
    void kQuantModelGivesExactlyTheLogitsOfItsDequantizedTwinAndGenerates(@TempDir Path dir) throws Exception {
        Path kquant = dir.resolve("kquant.gguf");
        Path twin = dir.resolve("twin.gguf");
        writeModels(kquant, twin);
        int[] prompt = {563, 12, 8035, 26, 221, 1429, 5973, 30, 3000};
        List<Integer> greedy = new ArrayList<>();
        try (GGUFFile kf = GGUFFile.open(kquant);
                GGUFFile ff = GGUFFile.open(twin);
                Decoder k = CpuDecoder.load(kf, Architecture.decoderConfig(kf), new CpuBackend(2));
                Decoder f = CpuDecoder.load(ff, Architecture.decoderConfig(ff), new CpuBackend(2))) {
            int vocab = k.config().vocabSize();
            SequenceCache kc = k.newCache(prompt.length + STEPS), fc = f.newCache(prompt.length + STEPS);
            // The prompt as one batch (the widened-row tiles), logits of every position.
            int n = prompt.length;
            int[] positions = new int[n], rows = new int[n];
            for (int i = 0; i < n; i++) positions[i] = rows[i] = i;
            float[] kl = new float[n * vocab], fl = new float[n * vocab];
            k.forward(prompt, positions, fill(kc, n), rows, kl);
            f.forward(prompt, positions, fill(fc, n), rows, fl);
            assertIdentical(kl, fl, "prompt batch");
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (float v : kl) {
                assertThat(Float.isFinite(v)).isTrue();
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertThat(max - min).as("logit spread").isGreaterThan(0.1f);
            // Greedy steps of one token each (the direct one-token kernels).
            int token = argmax(kl, (n - 1) * vocab, vocab);
            for (int s = 0; s < STEPS; s++) {
                greedy.add(token);
                float[] ks = new float[vocab], fs = new float[vocab];
                k.forward(new int[] {token}, new int[] {n + s}, new SequenceCache[] {kc}, new int[] {0}, ks);
                f.forward(new int[] {token}, new int[] {n + s}, new SequenceCache[] {fc}, new int[] {0}, fs);
                assertIdentical(ks, fs, "decode step " + s);
                token = argmax(ks, 0, vocab);
            }
        }

        // The public entry point accepts the file and generates the same greedy tokens.
        try (LanguageModel model = Engine.languageModel(kquant, new EngineOptions(2, 2, 16L << 20))) {
            var tokens = new ArrayList<Integer>();
            var done = new CompletableFuture<FinishReason>();
            model.submit(new GenerationRequest(prompt, STEPS, SamplingParams.greedy()), new TokenSink() {
                @Override
                public boolean accept(int t) {
                    tokens.add(t);
                    return true;
                }

                @Override
                public void finished(FinishReason reason, Throwable errorOrNull) {
                    if (errorOrNull != null) done.completeExceptionally(errorOrNull);
                    else done.complete(reason);
                }
            });
            FinishReason reason = done.get(60, TimeUnit.SECONDS);
            assertThat(reason).isIn(FinishReason.LENGTH, FinishReason.END_OF_GENERATION);
            assertThat(tokens).isNotEmpty();
            assertThat(tokens).isEqualTo(greedy.subList(0, tokens.size()));
            if (reason == FinishReason.LENGTH) assertThat(tokens).hasSize(STEPS);
        }
    }

    @Test
    void aMatrixOfATypeWithoutKernelIsStillRejectedByName(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("q3k.gguf");
        try (GGUFFile src = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"))) {
            var w = new GGUFWriter().putAll(src.metadata());
            for (GGUFTensor t : src.tensors().values()) {
                if (t.name().equals("blk.0.ffn_up.weight")) {
                    long bytes = GGMLType.Q3_K.bytesFor(t.elementCount());
                    w.addTensor(
                            t.name(), GGMLType.Q3_K, t.shape(), Arena.ofAuto().allocate(bytes));
                } else {
                    w.addTensor(t);
                }
            }
            w.write(file);
        }
        assertThatThrownBy(() -> Engine.languageModel(file, new EngineOptions(1, 1, 16L << 20)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blk.0.ffn_up.weight")
                .hasMessageContaining("Q3_K");
    }

    private static SequenceCache[] fill(SequenceCache cache, int n) {
        SequenceCache[] caches = new SequenceCache[n];
        java.util.Arrays.fill(caches, cache);
        return caches;
    }

    private static void assertIdentical(float[] actual, float[] expected, String what) {
        int mismatch = java.util.Arrays.mismatch(actual, expected);
        assertThat(mismatch)
                .as(
                        "%s: first differing logit %d (%s vs %s)",
                        what, mismatch, mismatch < 0 ? "" : actual[mismatch], mismatch < 0 ? "" : expected[mismatch])
                .isEqualTo(-1);
    }

    private static int argmax(float[] v, int from, int count) {
        int best = 0;
        for (int i = 1; i < count; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }
}
