package dev.catnap.engine.model;

import static dev.catnap.engine.model.Ops.Epilogue.ADD;
import static dev.catnap.engine.model.Ops.Epilogue.STORE;
import static dev.catnap.engine.model.Ops.RowInput.TOKENS;

import java.util.ArrayList;
import java.util.List;

/**
 * Llama-family decoders (llama, qwen2): RMSNorm, rotary positions (NEOX pairs for qwen2, adjacent pairs for llama),
 * grouped-query attention, SwiGLU feed-forward; qwen2 adds Q/K/V biases. The output head is {@code output.weight},
 * or the token embedding when that is absent.
 */
record Llama<M, V>(ModelConfig config, boolean neox, M tokenEmbedding, List<Layer<M, V>> layers, V outputNorm, M output)
        implements Transformer<M, V> {
    record Layer<M, V>(
            V attnNorm, M q, V qBias, M k, V kBias, M v, V vBias, M out, V outBias, V ffnNorm, M gate, M up, M down) {}

    private static final int X = 0, H = 1, Q = 2, K = 3, V = 4, ATT = 5, GATE = 6, UP = 7;

    static <M, V> Llama<M, V> load(ModelConfig c, Weights<M, V> w, boolean neox) {
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        M tokens = w.table("token_embd.weight", e, c.vocabSize());
        List<Layer<M, V>> layers = new ArrayList<>(c.layers());
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new Layer<>(
                    w.vector(p + "attn_norm.weight", e),
                    w.matrix(p + "attn_q.weight", e, qw),
                    w.optionalVector(p + "attn_q.bias", qw),
                    w.matrix(p + "attn_k.weight", e, kv),
                    w.optionalVector(p + "attn_k.bias", kv),
                    w.matrix(p + "attn_v.weight", e, kv),
                    w.optionalVector(p + "attn_v.bias", kv),
                    w.matrix(p + "attn_output.weight", qw, e),
                    w.optionalVector(p + "attn_output.bias", e),
                    w.vector(p + "ffn_norm.weight", e),
                    w.matrix(p + "ffn_gate.weight", e, ff),
                    w.matrix(p + "ffn_up.weight", e, ff),
                    w.matrix(p + "ffn_down.weight", ff, e)));
        }
        return new Llama<>(
                c,
                neox,
                tokens,
                List.copyOf(layers),
                w.vector("output_norm.weight", e),
                w.outputHead(e, c.vocabSize()));
    }

    @Override
    public int[] bufferWidths() {
        int e = config.embedding(), kv = config.kvWidth(), ff = config.feedForward();
        int qw = config.heads() * config.headDim();
        return new int[] {e, e, qw, kv, kv, qw, ff, ff};
    }

    @Override
    public <B> void forward(Ops<B, M, V> ops, List<B> b, int n, int m, B logits) {
        ModelConfig c = config;
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        float eps = c.normEps();
        AttentionHeads heads = c.attentionHeads();
        B x = b.get(X), h = b.get(H), q = b.get(Q), k = b.get(K), v = b.get(V), att = b.get(ATT);
        B gate = b.get(GATE), up = b.get(UP);
        ops.embed(tokenEmbedding, TOKENS, x, n, false);
        for (int l = 0; l < layers.size(); l++) {
            Layer<M, V> L = layers.get(l);
            ops.rmsNorm(x, false, h, L.attnNorm, n, e, eps);
            ops.matmul(L.q, h, q, L.qBias, n, STORE);
            ops.matmul(L.k, h, k, L.kBias, n, STORE);
            ops.matmul(L.v, h, v, L.vBias, n, STORE);
            ops.rope(q, n, qw, c.heads(), c.headDim(), c.ropeBase(), neox);
            ops.rope(k, n, kv, c.kvHeads(), c.headDim(), c.ropeBase(), neox);
            ops.kvStore(k, 0, kv, v, 0, kv, n, l, kv);
            ops.attention(q, 0, qw, n, l, heads, att);
            ops.matmul(L.out, att, x, L.outBias, n, ADD);

            ops.rmsNorm(x, false, h, L.ffnNorm, n, e, eps);
            ops.matmul(L.gate, h, gate, null, n, STORE);
            ops.matmul(L.up, h, up, null, n, STORE);
            ops.swiglu(gate, up, n * ff);
            ops.matmul(L.down, gate, x, null, n, ADD);
        }
        if (m == 0) return;
        ops.rmsNorm(x, true, h, outputNorm, m, e, eps);
        ops.logits(output, h, logits, m);
    }
}
