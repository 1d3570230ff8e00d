package dev.catnap.engine.cuda;

import static dev.catnap.engine.cuda.DeviceOps.EPILOGUE_ADD;
import static dev.catnap.engine.cuda.DeviceOps.EPILOGUE_GELU;
import static dev.catnap.engine.cuda.DeviceOps.EPILOGUE_STORE;

import dev.catnap.engine.model.ModelConfig;

/**
 * GPT-BigCode (StarCoder) on the device: the same pass as the CPU decoder, with biases and GELU fused into the
 * products and the residual additions fused into the output projections.
 */
record StarCoderOnDevice(ModelConfig config, DeviceMatrix tokenEmbedding, DeviceMatrix positionEmbedding,
                         Layer[] layers, long outputNorm, long outputNormBias, DeviceMatrix output)
        implements DeviceArchitecture {
    record Layer(long attnNorm, long attnNormBias, DeviceMatrix qkv, long qkvBias, DeviceMatrix out, long outBias,
                 long ffnNorm, long ffnNormBias, DeviceMatrix up, long upBias, DeviceMatrix down, long downBias) {
    }

    private static final int X = 0, H = 1, QKV = 2, ATT = 3, UP = 4;

    static StarCoderOnDevice upload(ModelConfig c, DeviceWeights w) {
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward();
        DeviceMatrix tokens = w.table("token_embd.weight", e, c.vocabSize());
        DeviceMatrix positions = w.table("position_embd.weight", e, c.contextLength());
        Layer[] layers = new Layer[c.layers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "blk." + l + ".";
            layers[l] = new Layer(
                    w.vector(p + "attn_norm.weight", e), w.vector(p + "attn_norm.bias", e),
                    w.matrix(p + "attn_qkv.weight", e, e + 2 * kv), w.vector(p + "attn_qkv.bias", e + 2 * kv),
                    w.matrix(p + "attn_output.weight", e, e), w.vector(p + "attn_output.bias", e),
                    w.vector(p + "ffn_norm.weight", e), w.vector(p + "ffn_norm.bias", e),
                    w.matrix(p + "ffn_up.weight", e, ff), w.vector(p + "ffn_up.bias", ff),
                    w.matrix(p + "ffn_down.weight", ff, e), w.vector(p + "ffn_down.bias", e));
        }
        return new StarCoderOnDevice(c, tokens, positions, layers, w.vector("output_norm.weight", e),
                w.vector("output_norm.bias", e), w.outputHead(e, c.vocabSize()));
    }

    @Override
    public int[] bufferWidths() {
        int e = config.embedding();
        return new int[]{e, e, e + 2 * config.kvWidth(), e, config.feedForward()};
    }

    @Override
    public void enqueue(DeviceOps ops, StepInputs in, long[] b, int n, int m, long logits) {
        ModelConfig c = config;
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qkvWidth = e + 2 * kv;
        float eps = c.normEps();
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        ops.embed(tokenEmbedding, in.tokens(), b[X], n, false);
        ops.embed(positionEmbedding, in.positions(), b[X], n, true);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            ops.layerNorm(b[X], 0, b[H], L.attnNorm, L.attnNormBias, n, e, eps);
            ops.matmul(L.qkv, b[H], b[QKV], L.qkvBias, n, EPILOGUE_STORE);
            ops.kvStore(b[QKV] + (long) e * Float.BYTES, qkvWidth, b[QKV] + (long) (e + kv) * Float.BYTES, qkvWidth,
                    in, n, l, kv);
            ops.attention(b[QKV], qkvWidth, in, n, l, c.heads(), c.kvHeads(), c.headDim(), scale, b[ATT]);
            ops.matmul(L.out, b[ATT], b[X], L.outBias, n, EPILOGUE_ADD);

            ops.layerNorm(b[X], 0, b[H], L.ffnNorm, L.ffnNormBias, n, e, eps);
            ops.matmul(L.up, b[H], b[UP], L.upBias, n, EPILOGUE_GELU);
            ops.matmul(L.down, b[UP], b[X], L.downBias, n, EPILOGUE_ADD);
        }
        if (m == 0) return;
        ops.layerNorm(b[X], in.logitRows(), b[H], outputNorm, outputNormBias, m, e, eps);
        ops.matmul(output, b[H], logits, 0, m, EPILOGUE_STORE);
    }
}
