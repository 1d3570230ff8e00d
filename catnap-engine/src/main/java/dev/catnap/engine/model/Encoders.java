package dev.catnap.engine.model;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.tokenizer.Tokenizer;

/**
 * Bidirectional encoders for embeddings: {@code bert} (learned positions, separate Q/K/V with biases, GELU MLP) and
 * {@code nomic-bert} (fused QKV, NEOX rotary positions, SwiGLU MLP, no biases). Both are post-norm: LayerNorm after
 * each residual addition. The embedding is the mean of the last hidden states, L2-normalised.
 */
public final class Encoders {
    private Encoders() {}

    /** An encoder over an open file; it closes the file and the backend. */
    public static EmbeddingModel create(GGUFFile file, Tokenizer tokenizer, Backend backend) {
        return new Encoder(file, tokenizer, backend);
    }

    static final class Encoder implements EmbeddingModel {
        private record Layer(
                GGUFTensor qkv,
                GGUFTensor q,
                float[] qBias,
                GGUFTensor k,
                float[] kBias,
                GGUFTensor v,
                float[] vBias,
                GGUFTensor out,
                float[] outBias,
                float[] attnNorm,
                float[] attnNormBias,
                GGUFTensor gate,
                GGUFTensor up,
                float[] upBias,
                GGUFTensor down,
                float[] downBias,
                float[] outNorm,
                float[] outNormBias) {}

        private final GGUFFile file;
        private final Tokenizer tokenizer;
        private final Backend backend;
        private final boolean nomic;
        private final int dim, heads, ff, context;
        private final float eps, ropeBase;
        private final GGUFTensor tokenEmbedding, tokenTypes, positionEmbedding;
        private final float[] embedNorm, embedNormBias;
        private final Layer[] layers;

        Encoder(GGUFFile file, Tokenizer tokenizer, Backend backend) {
            var m = file.metadata();
            String a = m.architecture();
            Architecture architecture;
            try {
                architecture = Architecture.of(a);
            } catch (IllegalArgumentException e) {
                architecture = null;
            }
            if (architecture == null || architecture.isDecoder()) {
                backend.close();
                throw new IllegalArgumentException("architecture '" + a + "' is not an embedding model (supported: "
                        + Architecture.list(false) + ")");
            }
            this.file = file;
            this.tokenizer = tokenizer;
            this.backend = backend;
            nomic = architecture == Architecture.NOMIC_BERT;
            dim = m.getInt(a + ".embedding_length");
            heads = m.getInt(a + ".attention.head_count");
            ff = m.getInt(a + ".feed_forward_length");
            context = m.getInt(a + ".context_length");
            eps = m.getFloat(a + ".attention.layer_norm_epsilon", 1e-12f);
            ropeBase = m.getFloat(a + ".rope.freq_base", 10000f);
            var w = Weights.inPlace(file, backend.matrixTypes());
            tokenEmbedding = w.table("token_embd.weight", dim, 1);
            tokenTypes = w.table("token_types.weight", dim, 1);
            positionEmbedding = nomic ? null : w.table("position_embd.weight", dim, 1);
            embedNorm = w.vector("token_embd_norm.weight", dim);
            embedNormBias = w.vector("token_embd_norm.bias", dim);
            layers = new Layer[m.getInt(a + ".block_count")];
            for (int l = 0; l < layers.length; l++) {
                String p = "blk." + l + ".";
                layers[l] = new Layer(
                        nomic ? w.matrix(p + "attn_qkv.weight", dim, 3L * dim) : null,
                        nomic ? null : w.matrix(p + "attn_q.weight", dim, dim),
                        w.optionalVector(p + "attn_q.bias", dim),
                        nomic ? null : w.matrix(p + "attn_k.weight", dim, dim),
                        w.optionalVector(p + "attn_k.bias", dim),
                        nomic ? null : w.matrix(p + "attn_v.weight", dim, dim),
                        w.optionalVector(p + "attn_v.bias", dim),
                        w.matrix(p + "attn_output.weight", dim, dim),
                        w.optionalVector(p + "attn_output.bias", dim),
                        w.vector(p + "attn_output_norm.weight", dim),
                        w.vector(p + "attn_output_norm.bias", dim),
                        nomic ? w.matrix(p + "ffn_gate.weight", dim, ff) : null,
                        w.matrix(p + "ffn_up.weight", dim, ff),
                        w.optionalVector(p + "ffn_up.bias", ff),
                        w.matrix(p + "ffn_down.weight", ff, dim),
                        w.optionalVector(p + "ffn_down.bias", dim),
                        w.vector(p + "layer_output_norm.weight", dim),
                        w.vector(p + "layer_output_norm.bias", dim));
            }
        }

        @Override
        public int dimensions() {
            return dim;
        }

        @Override
        public synchronized float[] embed(String text) {
            int[] ids = tokenizer.encode(text, true, true);
            return embedTokens(ids);
        }

        /** The final hidden states (n rows of dim), before pooling. */
        synchronized float[] hiddenStates(int[] ids) {
            int n = ids.length;
            if (n == 0) throw new IllegalArgumentException("the text has no tokens");
            if (n > context)
                throw new IllegalArgumentException(
                        "the text has " + n + " tokens, more than the context of " + context);
            float[] x = new float[n * dim];
            float[] tmp = new float[n * dim];
            backend.embed(tokenEmbedding, ids, x);
            backend.embed(tokenTypes, new int[n], tmp);
            backend.add(x, tmp, n * dim);
            int[] positions = new int[n];
            for (int t = 0; t < n; t++) positions[t] = t;
            if (positionEmbedding != null) {
                backend.embed(positionEmbedding, positions, tmp);
                backend.add(x, tmp, n * dim);
            }
            backend.layerNorm(x, n, dim, embedNorm, embedNormBias, eps);

            int headDim = dim / heads;
            float[] q = new float[n * dim], k = new float[n * dim], v = new float[n * dim];
            float[] qkv = nomic ? new float[n * 3 * dim] : null;
            float[] att = new float[n * dim];
            float[] gate = new float[n * ff], up = new float[n * ff];
            float[][] keys = new float[n][], values = new float[n][];
            int[] lengths = new int[n];
            java.util.Arrays.fill(lengths, n);
            java.util.Arrays.fill(keys, k);
            java.util.Arrays.fill(values, v);
            for (Layer L : layers) {
                if (nomic) {
                    backend.matmul(L.qkv, x, qkv, n);
                    for (int t = 0; t < n; t++) {
                        System.arraycopy(qkv, t * 3 * dim, q, t * dim, dim);
                        System.arraycopy(qkv, t * 3 * dim + dim, k, t * dim, dim);
                        System.arraycopy(qkv, t * 3 * dim + 2 * dim, v, t * dim, dim);
                    }
                    backend.rope(q, n, dim, 0, heads, headDim, positions, ropeBase, true);
                    backend.rope(k, n, dim, 0, heads, headDim, positions, ropeBase, true);
                } else {
                    backend.matmul(L.q, x, q, n);
                    backend.matmul(L.k, x, k, n);
                    backend.matmul(L.v, x, v, n);
                }
                if (L.qBias != null) backend.addBias(q, n, L.qBias);
                if (L.kBias != null) backend.addBias(k, n, L.kBias);
                if (L.vBias != null) backend.addBias(v, n, L.vBias);
                backend.attention(
                        q,
                        dim,
                        0,
                        n,
                        keys,
                        values,
                        lengths,
                        heads,
                        heads,
                        headDim,
                        (float) (1.0 / Math.sqrt(headDim)),
                        att);
                backend.matmul(L.out, att, tmp, n);
                if (L.outBias != null) backend.addBias(tmp, n, L.outBias);
                backend.add(x, tmp, n * dim);
                backend.layerNorm(x, n, dim, L.attnNorm, L.attnNormBias, eps);

                backend.matmul(L.up, x, up, n);
                if (L.upBias != null) backend.addBias(up, n, L.upBias);
                if (nomic) {
                    backend.matmul(L.gate, x, gate, n);
                    backend.swiglu(gate, up, n * ff);
                    backend.matmul(L.down, gate, tmp, n);
                } else {
                    backend.gelu(up, n * ff);
                    backend.matmul(L.down, up, tmp, n);
                }
                if (L.downBias != null) backend.addBias(tmp, n, L.downBias);
                backend.add(x, tmp, n * dim);
                backend.layerNorm(x, n, dim, L.outNorm, L.outNormBias, eps);
            }
            return x;
        }

        float[] embedTokens(int[] ids) {
            int n = ids.length;
            float[] x = hiddenStates(ids);
            float[] pooled = new float[dim];
            for (int t = 0; t < n; t++) {
                for (int i = 0; i < dim; i++) pooled[i] += x[t * dim + i];
            }
            double norm = 0;
            for (int i = 0; i < dim; i++) {
                pooled[i] /= n;
                norm += (double) pooled[i] * pooled[i];
            }
            float inv = norm > 0 ? (float) (1.0 / Math.sqrt(norm)) : 0f;
            for (int i = 0; i < dim; i++) pooled[i] *= inv;
            return pooled;
        }

        @Override
        public void close() {
            backend.close();
            file.close();
        }
    }
}
