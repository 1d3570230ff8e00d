package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;

/**
 * GPT-BigCode (StarCoder): learned absolute positions, pre-LayerNorm blocks with biases, one fused QKV projection
 * with multi-query attention, a tanh-GELU MLP, and an output head tied to the token embedding unless
 * {@code output.weight} is present.
 */
final class StarCoder implements Decoder {
    private record Layer(float[] attnNorm, float[] attnNormBias, GGUFTensor qkv, float[] qkvBias, GGUFTensor out,
                         float[] outBias, float[] ffnNorm, float[] ffnNormBias, GGUFTensor up, float[] upBias,
                         GGUFTensor down, float[] downBias) {
    }

    private final ModelConfig c;
    private final Backend backend;
    private final GGUFTensor tokenEmbedding;
    private final GGUFTensor positionEmbedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final float[] outputNormBias;
    private final GGUFTensor output;
    private final Scratch scratch = new Scratch();

    StarCoder(GGUFFile file, ModelConfig c, Backend backend) {
        this.c = c;
        this.backend = backend;
        var w = new Tensors(file, backend);
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward();
        tokenEmbedding = w.table("token_embd.weight", e, c.vocabSize());
        positionEmbedding = w.table("position_embd.weight", e, c.contextLength());
        layers = new Layer[c.layers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(
                    w.vector(p + "attn_norm.weight", e), w.vector(p + "attn_norm.bias", e),
                    w.matrix(p + "attn_qkv.weight", e, e + 2L * kv), w.vector(p + "attn_qkv.bias", e + 2L * kv),
                    w.matrix(p + "attn_output.weight", e, e), w.vector(p + "attn_output.bias", e),
                    w.vector(p + "ffn_norm.weight", e), w.vector(p + "ffn_norm.bias", e),
                    w.matrix(p + "ffn_up.weight", e, ff), w.vector(p + "ffn_up.bias", ff),
                    w.matrix(p + "ffn_down.weight", ff, e), w.vector(p + "ffn_down.bias", e));
        }
        outputNorm = w.vector("output_norm.weight", e);
        outputNormBias = w.vector("output_norm.bias", e);
        output = w.outputHead(e, c.vocabSize());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public String description() {
        return backend.description();
    }

    @Override
    public void forward(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows, float[] logits) {
        int n = tokens.length;
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qkvWidth = e + 2 * kv;
        float[] x = scratch.get(0, n * e);
        float[] h = scratch.get(1, n * e);
        float[] qkv = scratch.get(2, n * qkvWidth);
        float[] att = scratch.get(3, n * e);
        float[] up = scratch.get(4, n * ff);
        int[] lengths = scratch.lengths(positions);
        int single = Scratch.oneTokenRows(caches, n);

        backend.embed(tokenEmbedding, tokens, x);
        backend.embed(positionEmbedding, positions, h);
        backend.add(x, h, n * e);

        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            System.arraycopy(x, 0, h, 0, n * e);
            backend.layerNorm(h, n, e, L.attnNorm, L.attnNormBias, c.normEps());
            backend.matmul(L.qkv, h, qkv, n, single);
            backend.addBias(qkv, n, L.qkvBias);
            scratch.cache(l, caches, positions, kv, qkv, e, qkv, e + kv, qkvWidth);
            backend.attention(qkv, qkvWidth, 0, n, scratch.keys(), scratch.values(), lengths, c.heads(), c.kvHeads(), c.headDim(),
                    (float) (1.0 / Math.sqrt(c.headDim())), att);
            backend.matmul(L.out, att, h, n, single);
            backend.addBias(h, n, L.outBias);
            backend.add(x, h, n * e);

            System.arraycopy(x, 0, h, 0, n * e);
            backend.layerNorm(h, n, e, L.ffnNorm, L.ffnNormBias, c.normEps());
            backend.matmul(L.up, h, up, n, single);
            backend.addBias(up, n, L.upBias);
            backend.gelu(up, n * ff);
            backend.matmul(L.down, up, h, n, single);
            backend.addBias(h, n, L.downBias);
            backend.add(x, h, n * e);
        }

        int m = logitRows.length;
        if (m == 0) return;
        Scratch.gatherRows(x, logitRows, e, h);
        backend.layerNorm(h, m, e, outputNorm, outputNormBias, c.normEps());
        // Every logit row is computed as a single token, whatever else the pass holds.
        backend.matmul(output, h, logits, m, m);
    }

    @Override
    public void close() {
        backend.close();
    }
}
