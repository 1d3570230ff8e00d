package dev.catnap.engine.model;

import dev.catnap.engine.gguf.GGUFMetadata;

/** The hyper-parameters of a transformer, read from GGUF metadata keys prefixed by the architecture name. */
public record ModelConfig(
        Architecture architecture,
        int layers,
        int embedding,
        int heads,
        int kvHeads,
        int headDim,
        int feedForward,
        int contextLength,
        int vocabSize,
        float normEps,
        float ropeBase) {
    public int kvWidth() {
        return kvHeads * headDim;
    }

    /** This model's attention shape, scores scaled by 1 / sqrt(headDim). */
    public AttentionHeads attentionHeads() {
        return new AttentionHeads(heads, kvHeads, headDim, (float) (1.0 / Math.sqrt(headDim)));
    }

    static ModelConfig read(Architecture architecture, GGUFMetadata m, int vocabSize) {
        String a = m.architecture();
        boolean rms = architecture.rmsNorm();
        int embedding = m.getInt(a + ".embedding_length");
        int heads = m.getInt(a + ".attention.head_count");
        int kvHeads = m.getInt(a + ".attention.head_count_kv", heads);
        int headDim = embedding / heads;
        if (m.has(a + ".attention.key_length")) headDim = m.getInt(a + ".attention.key_length");
        float eps = rms
                ? m.getFloat(a + ".attention.layer_norm_rms_epsilon", 1e-6f)
                : m.getFloat(a + ".attention.layer_norm_epsilon", 1e-5f);
        var c = new ModelConfig(
                architecture,
                m.getInt(a + ".block_count"),
                embedding,
                heads,
                kvHeads,
                headDim,
                m.getInt(a + ".feed_forward_length"),
                m.getInt(a + ".context_length"),
                vocabSize,
                eps,
                m.getFloat(a + ".rope.freq_base", 10000f));
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    a + ": head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
        }
        return c;
    }
}
