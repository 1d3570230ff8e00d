package dev.catnap.engine.model;

/**
 * The shape of a model's attention: {@code heads} query heads sharing {@code kvHeads} key/value heads (query head h
 * uses KV head {@code h / (heads / kvHeads)}), each {@code headDim} wide, scores scaled by {@code scale}.
 */
public record AttentionHeads(int heads, int kvHeads, int headDim, float scale) {
    public AttentionHeads {
        if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0 || headDim < 1) {
            throw new IllegalArgumentException(heads + " query heads over " + kvHeads + " KV heads of width " + headDim
                    + " is no attention shape");
        }
    }

    /** The usual shape of {@code config}: scores scaled by 1 / sqrt(headDim). */
    static AttentionHeads of(ModelConfig config) {
        return new AttentionHeads(
                config.heads(), config.kvHeads(), config.headDim(), (float) (1.0 / Math.sqrt(config.headDim())));
    }
}
