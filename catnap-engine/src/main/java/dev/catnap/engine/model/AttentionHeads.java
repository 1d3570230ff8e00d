package dev.catnap.engine.model;

/**
 * The shape of a model's attention: {@code heads} query heads sharing {@code kvHeads} key/value heads (query head h
 * uses KV head {@code h / (heads / kvHeads)}), each {@code headDim} wide, scores scaled by {@code scale}. Made by
 * {@link ModelConfig#attentionHeads()}, whose reading already refused shapes where the heads do not divide evenly.
 */
public record AttentionHeads(int heads, int kvHeads, int headDim, float scale) {}
