package dev.catnap.engine.model;

import static dev.catnap.engine.model.Ops.Epilogue.ADD;
import static dev.catnap.engine.model.Ops.Epilogue.GELU;
import static dev.catnap.engine.model.Ops.Epilogue.STORE;
import static dev.catnap.engine.model.Ops.RowInput.POSITIONS;
import static dev.catnap.engine.model.Ops.RowInput.TOKENS;

import java.util.ArrayList;
import java.util.List;

/**
 * GPT-BigCode (StarCoder): learned absolute positions, pre-LayerNorm blocks with biases, one fused QKV projection
 * with multi-query attention, a tanh-GELU MLP, and an output head tied to the token embedding unless
 * {@code output.weight} is present.
 */
record StarCoder<M, V>(
        ModelConfig config,
        M tokenEmbedding,
        M positionEmbedding,
        List<Layer<M, V>> layers,
        V outputNorm,
        V outputNormBias,
        M output)
        implements Transformer<M, V> {
    record Layer<M, V>(
            V attnNorm,
            V attnNormBias,
            M qkv,
            V qkvBias,
            M out,
            V outBias,
            V ffnNorm,
            V ffnNormBias,
            M up,
            V upBias,
            M down,
            V downBias) {}

    private static final int X = 0, H = 1, QKV = 2, ATT = 3, UP = 4;

    static <M, V> StarCoder<M, V> load(ModelConfig c, Weights<M, V> w) {
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward();
        M tokens = w.table("token_embd.weight", e, c.vocabSize());
        M positions = w.table("position_embd.weight", e, c.contextLength());
        List<Layer<M, V>> layers = new ArrayList<>(c.layers());
        for (int l = 0; l < c.layers(); l++) {
            String p = "blk." + l + ".";
            layers.add(new Layer<>(
                    w.vector(p + "attn_norm.weight", e), w.vector(p + "attn_norm.bias", e),
                    w.matrix(p + "attn_qkv.weight", e, e + 2L * kv), w.vector(p + "attn_qkv.bias", e + 2L * kv),
                    w.matrix(p + "attn_output.weight", e, e), w.vector(p + "attn_output.bias", e),
                    w.vector(p + "ffn_norm.weight", e), w.vector(p + "ffn_norm.bias", e),
                    w.matrix(p + "ffn_up.weight", e, ff), w.vector(p + "ffn_up.bias", ff),
                    w.matrix(p + "ffn_down.weight", ff, e), w.vector(p + "ffn_down.bias", e)));
        }
        return new StarCoder<>(
                c,
                tokens,
                positions,
                List.copyOf(layers),
                w.vector("output_norm.weight", e),
                w.vector("output_norm.bias", e),
                w.outputHead(e, c.vocabSize()));
    }

    @Override
    public int[] bufferWidths() {
        int e = config.embedding();
        return new int[] {e, e, e + 2 * config.kvWidth(), e, config.feedForward()};
    }

    @Override
    public <B> void forward(Ops<B, M, V> ops, List<B> b, int n, int m, B logits) {
        ModelConfig c = config;
        int e = c.embedding(), kv = c.kvWidth(), qkvWidth = e + 2 * kv;
        float eps = c.normEps();
        AttentionHeads heads = c.attentionHeads();
        B x = b.get(X), h = b.get(H), qkv = b.get(QKV), att = b.get(ATT), up = b.get(UP);
        ops.embed(tokenEmbedding, TOKENS, x, n, false);
        ops.embed(positionEmbedding, POSITIONS, x, n, true);
        for (int l = 0; l < layers.size(); l++) {
            Layer<M, V> L = layers.get(l);
            ops.layerNorm(x, false, h, L.attnNorm, L.attnNormBias, n, e, eps);
            ops.matmul(L.qkv, h, qkv, L.qkvBias, n, STORE);
            ops.kvStore(qkv, e, qkvWidth, qkv, e + kv, qkvWidth, n, l, kv);
            ops.attention(qkv, 0, qkvWidth, n, l, heads, att);
            ops.matmul(L.out, att, x, L.outBias, n, ADD);

            ops.layerNorm(x, false, h, L.ffnNorm, L.ffnNormBias, n, e, eps);
            ops.matmul(L.up, h, up, L.upBias, n, GELU);
            ops.matmul(L.down, up, x, L.downBias, n, ADD);
        }
        if (m == 0) return;
        ops.layerNorm(x, true, h, outputNorm, outputNormBias, m, e, eps);
        ops.logits(output, h, logits, m);
    }
}
