package dev.catnap.cli;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Writes a StarCoder-architecture model with random weights for benchmarks: same shapes, types and therefore cost as
 * a real checkpoint (the fixtures README's StarCoder-1B: 24 blocks, 2048 wide, 16 heads, one KV head, FFN 8192,
 * context 8192). Matrices and embeddings are approximately N(0, 0.02), norm weights 1 + N(0, 0.02); norms and
 * biases are F32, the position embedding F16. The file is streamed, never held in memory.
 *
 * <p>Reached only through {@code catnap synthetic-model} (benchmark models) and the hidden {@code aot-train} (the
 * launcher's training run for the AOT cache), which is why it lives here and not in the engine: the engine's jar
 * holds what inference needs, and no caller outside the CLI writes random models.
 */
final class SyntheticStarCoder {
    private SyntheticStarCoder() {}

    static void write(
            Path out, GGMLType type, Path vocab, int layers, int embedding, int heads, int feedForward, int context)
            throws IOException {
        var w = new GGUFWriter();
        int vocabSize;
        try (GGUFFile v = GGUFFile.open(vocab)) {
            w.putAll(v.metadata());
            for (String key : v.metadata().keys()) {
                if (!key.startsWith("tokenizer.")) w.remove(key);
            }
            vocabSize = v.metadata().getStringArray("tokenizer.ggml.tokens").size();
        }
        int headDim = embedding / heads;
        int qkv = embedding + 2 * headDim;
        w.putString("general.architecture", "starcoder");
        w.putString("general.name", "synthetic starcoder " + layers + "x" + embedding);
        w.putUInt32(
                "general.file_type",
                switch (type) {
                    case Q8_0 -> 7;
                    case Q4_0 -> 2;
                    default -> 1;
                });
        w.putUInt32("starcoder.context_length", context);
        w.putUInt32("starcoder.embedding_length", embedding);
        w.putUInt32("starcoder.feed_forward_length", feedForward);
        w.putUInt32("starcoder.block_count", layers);
        w.putUInt32("starcoder.attention.head_count", heads);
        w.putUInt32("starcoder.attention.head_count_kv", 1);
        w.putFloat32("starcoder.attention.layer_norm_epsilon", 1e-5f);

        long seed = 1234;
        w.addTensor("token_embd.weight", type, new long[] {embedding, vocabSize}, random(seed++, 0f));
        w.addTensor("position_embd.weight", GGMLType.F16, new long[] {embedding, context}, random(seed++, 0f));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            w.addTensor(p + "attn_norm.weight", GGMLType.F32, new long[] {embedding}, random(seed++, 1f));
            w.addTensor(p + "attn_norm.bias", GGMLType.F32, new long[] {embedding}, random(seed++, 0f));
            w.addTensor(p + "attn_qkv.weight", type, new long[] {embedding, qkv}, random(seed++, 0f));
            w.addTensor(p + "attn_qkv.bias", GGMLType.F32, new long[] {qkv}, random(seed++, 0f));
            w.addTensor(p + "attn_output.weight", type, new long[] {embedding, embedding}, random(seed++, 0f));
            w.addTensor(p + "attn_output.bias", GGMLType.F32, new long[] {embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_norm.weight", GGMLType.F32, new long[] {embedding}, random(seed++, 1f));
            w.addTensor(p + "ffn_norm.bias", GGMLType.F32, new long[] {embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_up.weight", type, new long[] {embedding, feedForward}, random(seed++, 0f));
            w.addTensor(p + "ffn_up.bias", GGMLType.F32, new long[] {feedForward}, random(seed++, 0f));
            w.addTensor(p + "ffn_down.weight", type, new long[] {feedForward, embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_down.bias", GGMLType.F32, new long[] {embedding}, random(seed++, 0f));
        }
        w.addTensor("output_norm.weight", GGMLType.F32, new long[] {embedding}, random(seed++, 1f));
        w.addTensor("output_norm.bias", GGMLType.F32, new long[] {embedding}, random(seed, 0f));
        w.write(out);
    }

    /**
     * mean + N(0, 0.02), approximated by the sum of four uniforms (Irwin-Hall): cheap enough for a billion values,
     * and the shape of the distribution does not change the cost of inference.
     */
    private static GGUFWriter.FloatSource random(long seed, float mean) {
        var random = new SplittableRandom(seed);
        float scale = 0.02f * (float) Math.sqrt(3.0);
        return (first, dst, count) -> {
            for (int i = 0; i < count; i++) {
                long bits = random.nextLong();
                float sum = (bits & 0xFFFF) + ((bits >>> 16) & 0xFFFF) + ((bits >>> 32) & 0xFFFF) + (bits >>> 48);
                dst[i] = mean + (sum / 65536f - 2f) * scale;
            }
        };
    }
}
