package dev.catnap.engine.model;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;

/**
 * Llama-family decoders (llama, qwen2): RMSNorm, rotary positions (NEOX pairs for qwen2, adjacent pairs for llama),
 * grouped-query attention, SwiGLU feed-forward; qwen2 adds Q/K/V biases. The output head is {@code output.weight},
 * or the token embedding when that is absent.
 */
final class Llama implements Decoder {
    private record Layer(float[] attnNorm, GGUFTensor q, float[] qBias, GGUFTensor k, float[] kBias, GGUFTensor v,
                         float[] vBias, GGUFTensor out, float[] outBias, float[] ffnNorm, GGUFTensor gate, GGUFTensor up,
                         GGUFTensor down) {
    }

    private final ModelConfig c;
    private final Backend backend;
    private final boolean neox;
    private final GGUFTensor tokenEmbedding;
    private final Layer[] layers;
    private final float[] outputNorm;
    private final GGUFTensor output;
    private final Scratch scratch = new Scratch();

    Llama(GGUFFile file, ModelConfig c, Backend backend, boolean neox) {
        this.c = c;
        this.backend = backend;
        this.neox = neox;
        var w = new Tensors(file, backend);
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        tokenEmbedding = w.table("token_embd.weight", e, c.vocabSize());
        layers = new Layer[c.layers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(w.vector(p + "attn_norm.weight", e),
                    w.matrix(p + "attn_q.weight", e, qw), w.optionalVector(p + "attn_q.bias", qw),
                    w.matrix(p + "attn_k.weight", e, kv), w.optionalVector(p + "attn_k.bias", kv),
                    w.matrix(p + "attn_v.weight", e, kv), w.optionalVector(p + "attn_v.bias", kv),
                    w.matrix(p + "attn_output.weight", qw, e), w.optionalVector(p + "attn_output.bias", e),
                    w.vector(p + "ffn_norm.weight", e),
                    w.matrix(p + "ffn_gate.weight", e, ff), w.matrix(p + "ffn_up.weight", e, ff),
                    w.matrix(p + "ffn_down.weight", ff, e));
        }
        outputNorm = w.vector("output_norm.weight", e);
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
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        float[] x = scratch.get(0, n * e);
        float[] h = scratch.get(1, n * Math.max(e, qw));
        float[] q = scratch.get(2, n * qw);
        float[] k = scratch.get(3, n * kv);
        float[] v = scratch.get(4, n * kv);
        float[] att = scratch.get(5, n * qw);
        float[] gate = scratch.get(6, n * ff);
        float[] up = scratch.get(7, n * ff);
        int[] lengths = scratch.lengths(positions);
        int single = Scratch.oneTokenRows(caches, n);

        backend.embed(tokenEmbedding, tokens, x);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            System.arraycopy(x, 0, h, 0, n * e);
            backend.rmsNorm(h, n, e, L.attnNorm, c.normEps());
            backend.matmul(L.q, h, q, n, single);
            backend.matmul(L.k, h, k, n, single);
            backend.matmul(L.v, h, v, n, single);
            if (L.qBias != null) backend.addBias(q, n, L.qBias);
            if (L.kBias != null) backend.addBias(k, n, L.kBias);
            if (L.vBias != null) backend.addBias(v, n, L.vBias);
            backend.rope(q, n, qw, 0, c.heads(), c.headDim(), positions, c.ropeBase(), neox);
            backend.rope(k, n, kv, 0, c.kvHeads(), c.headDim(), positions, c.ropeBase(), neox);
            scratch.cache(l, caches, positions, kv, k, 0, v, 0, kv);
            backend.attention(q, qw, 0, n, scratch.keys(), scratch.values(), lengths, c.heads(), c.kvHeads(), c.headDim(),
                    (float) (1.0 / Math.sqrt(c.headDim())), att);
            backend.matmul(L.out, att, h, n, single);
            if (L.outBias != null) backend.addBias(h, n, L.outBias);
            backend.add(x, h, n * e);

            System.arraycopy(x, 0, h, 0, n * e);
            backend.rmsNorm(h, n, e, L.ffnNorm, c.normEps());
            backend.matmul(L.gate, h, gate, n, single);
            backend.matmul(L.up, h, up, n, single);
            backend.swiglu(gate, up, n * ff);
            backend.matmul(L.down, gate, h, n, single);
            backend.add(x, h, n * e);
        }

        int m = logitRows.length;
        if (m == 0) return;
        Scratch.gatherRows(x, logitRows, e, h);
        backend.rmsNorm(h, m, e, outputNorm, c.normEps());
        // Every logit row is computed as a single token, whatever else the pass holds.
        backend.matmul(output, h, logits, m, m);
    }

    @Override
    public void close() {
        backend.close();
    }
}
