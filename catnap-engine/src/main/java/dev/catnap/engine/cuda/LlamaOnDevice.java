package dev.catnap.engine.cuda;

import static dev.catnap.engine.cuda.DeviceOps.EPILOGUE_ADD;
import static dev.catnap.engine.cuda.DeviceOps.EPILOGUE_STORE;

import dev.catnap.engine.model.ModelConfig;

/**
 * Llama-family decoders (llama, qwen2) on the device: RMSNorm, rotary positions, grouped-query attention, SwiGLU;
 * biases (qwen2's Q/K/V) fused into the products and the residual additions into the output projections.
 */
record LlamaOnDevice(ModelConfig config, boolean neox, DeviceMatrix tokenEmbedding, Layer[] layers, long outputNorm,
                     DeviceMatrix output) implements DeviceArchitecture {
    record Layer(long attnNorm, DeviceMatrix q, long qBias, DeviceMatrix k, long kBias, DeviceMatrix v, long vBias,
                 DeviceMatrix out, long outBias, long ffnNorm, DeviceMatrix gate, DeviceMatrix up, DeviceMatrix down) {
    }

    private static final int X = 0, H = 1, Q = 2, K = 3, V = 4, ATT = 5, GATE = 6, UP = 7;

    static LlamaOnDevice upload(ModelConfig c, DeviceWeights w, boolean neox) {
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        DeviceMatrix tokens = w.table("token_embd.weight", e, c.vocabSize());
        Layer[] layers = new Layer[c.layers()];
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
        return new LlamaOnDevice(c, neox, tokens, layers, w.vector("output_norm.weight", e), w.outputHead(e, c.vocabSize()));
    }

    @Override
    public int[] bufferWidths() {
        int e = config.embedding(), kv = config.kvWidth(), ff = config.feedForward();
        int qw = config.heads() * config.headDim();
        return new int[]{e, Math.max(e, qw), qw, kv, kv, qw, ff, ff};
    }

    @Override
    public void enqueue(DeviceOps ops, StepInputs in, long[] b, int n, int m, long logits) {
        ModelConfig c = config;
        int e = c.embedding(), kv = c.kvWidth(), ff = c.feedForward(), qw = c.heads() * c.headDim();
        float eps = c.normEps();
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        // As the CPU backend: ggml's angle step, computed once in double and rounded to F32.
        float thetaScale = (float) Math.pow(c.ropeBase(), -2.0 / c.headDim());
        ops.embed(tokenEmbedding, in.tokens(), b[X], n, false);
        for (int l = 0; l < layers.length; l++) {
            Layer L = layers[l];
            ops.rmsNorm(b[X], 0, b[H], L.attnNorm, n, e, eps);
            ops.matmul(L.q, b[H], b[Q], L.qBias, n, EPILOGUE_STORE);
            ops.matmul(L.k, b[H], b[K], L.kBias, n, EPILOGUE_STORE);
            ops.matmul(L.v, b[H], b[V], L.vBias, n, EPILOGUE_STORE);
            ops.rope(b[Q], n, qw, c.heads(), c.headDim(), in.positions(), thetaScale, neox);
            ops.rope(b[K], n, kv, c.kvHeads(), c.headDim(), in.positions(), thetaScale, neox);
            ops.kvStore(b[K], kv, b[V], kv, in, n, l, kv);
            ops.attention(b[Q], qw, in, n, l, c.heads(), c.kvHeads(), c.headDim(), scale, b[ATT]);
            ops.matmul(L.out, b[ATT], b[X], L.outBias, n, EPILOGUE_ADD);

            ops.rmsNorm(b[X], 0, b[H], L.ffnNorm, n, e, eps);
            ops.matmul(L.gate, b[H], b[GATE], 0, n, EPILOGUE_STORE);
            ops.matmul(L.up, b[H], b[UP], 0, n, EPILOGUE_STORE);
            ops.swiglu(b[GATE], b[UP], n * ff);
            ops.matmul(L.down, b[GATE], b[X], 0, n, EPILOGUE_ADD);
        }
        if (m == 0) return;
        ops.rmsNorm(b[X], in.logitRows(), b[H], outputNorm, m, e, eps);
        ops.matmul(output, b[H], logits, 0, m, EPILOGUE_STORE);
    }
}
