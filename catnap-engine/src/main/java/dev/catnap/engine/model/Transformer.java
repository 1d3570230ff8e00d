package dev.catnap.engine.model;

import java.util.List;

/**
 * A decoder architecture: its tensor schema, read once through a device's {@link Weights}, and its forward pass,
 * written once over any device's {@link Ops}. Adding an architecture is one implementation of this interface and one
 * {@link Architecture} constant.
 *
 * @param <M> the device's resident matrix
 * @param <V> the device's resident norm weight or bias
 */
public sealed interface Transformer<M, V> permits StarCoder, Llama {
    ModelConfig config();

    /** Floats per batch row of each activation buffer the pass uses; buffer i is {@code buffers.get(i)}. */
    int[] bufferWidths();

    /**
     * The pass over the step's {@code n} rows, ending with the logits of its {@code m} logit rows in {@code logits}
     * ({@code m * vocab} floats).
     */
    <B> void forward(Ops<B, M, V> ops, List<B> buffers, int n, int m, B logits);
}
