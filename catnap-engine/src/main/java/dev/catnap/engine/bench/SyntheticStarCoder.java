package dev.catnap.engine.bench;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFValueType;
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
 * <p>Usage: {@code java -cp catnap.jar dev.catnap.engine.bench.SyntheticStarCoder OUT.gguf q8_0|q4_0|f16 VOCAB.gguf [layers]}
 * where VOCAB.gguf supplies the {@code tokenizer.*} keys (e.g. fixtures/vocab/ggml-vocab-starcoder.gguf).
 */
public final class SyntheticStarCoder {
    private SyntheticStarCoder() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: SyntheticStarCoder OUT.gguf q8_0|q4_0|f16 VOCAB.gguf [layers]");
            System.exit(2);
        }
        GGMLType type = switch (args[1].toLowerCase(java.util.Locale.ROOT)) {
            case "q8_0" -> GGMLType.Q8_0;
            case "q4_0" -> GGMLType.Q4_0;
            case "f16" -> GGMLType.F16;
            default -> throw new IllegalArgumentException("type must be q8_0, q4_0 or f16, got " + args[1]);
        };
        int layers = args.length > 3 ? Integer.parseInt(args[3]) : 24;
        write(Path.of(args[0]), type, Path.of(args[2]), layers, 2048, 16, 8192, 8192);
    }

    public static void write(Path out, GGMLType type, Path vocab, int layers, int embedding, int heads, int feedForward,
                             int context) throws IOException {
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
        w.putUInt32("general.file_type", switch (type) {
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
        w.addTensor("token_embd.weight", type, new long[]{embedding, vocabSize}, random(seed++, 0f));
        w.addTensor("position_embd.weight", GGMLType.F16, new long[]{embedding, context}, random(seed++, 0f));
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            w.addTensor(p + "attn_norm.weight", GGMLType.F32, new long[]{embedding}, random(seed++, 1f));
            w.addTensor(p + "attn_norm.bias", GGMLType.F32, new long[]{embedding}, random(seed++, 0f));
            w.addTensor(p + "attn_qkv.weight", type, new long[]{embedding, qkv}, random(seed++, 0f));
            w.addTensor(p + "attn_qkv.bias", GGMLType.F32, new long[]{qkv}, random(seed++, 0f));
            w.addTensor(p + "attn_output.weight", type, new long[]{embedding, embedding}, random(seed++, 0f));
            w.addTensor(p + "attn_output.bias", GGMLType.F32, new long[]{embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_norm.weight", GGMLType.F32, new long[]{embedding}, random(seed++, 1f));
            w.addTensor(p + "ffn_norm.bias", GGMLType.F32, new long[]{embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_up.weight", type, new long[]{embedding, feedForward}, random(seed++, 0f));
            w.addTensor(p + "ffn_up.bias", GGMLType.F32, new long[]{feedForward}, random(seed++, 0f));
            w.addTensor(p + "ffn_down.weight", type, new long[]{feedForward, embedding}, random(seed++, 0f));
            w.addTensor(p + "ffn_down.bias", GGMLType.F32, new long[]{embedding}, random(seed++, 0f));
        }
        w.addTensor("output_norm.weight", GGMLType.F32, new long[]{embedding}, random(seed++, 1f));
        w.addTensor("output_norm.bias", GGMLType.F32, new long[]{embedding}, random(seed, 0f));
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
