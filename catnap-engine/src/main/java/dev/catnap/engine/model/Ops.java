package dev.catnap.engine.model;

import dev.catnap.engine.gguf.GGMLType;
import java.util.Set;

/**
 * The operations a decoder's forward pass is written in, so that each architecture is written once and every device
 * supplies the kernels: the CPU's {@code CpuOps}, CUDA's {@code DeviceOps}. {@code B} is an activation buffer of
 * row-major rows, {@code M} a resident weight matrix, {@code V} a resident norm weight or bias ({@code null} for an
 * absent one).
 *
 * <p>An {@code Ops} is bound to one step at a time: the step's token ids, positions, sequence caches and logit rows
 * are its device's business (uploaded once on CUDA, held as arrays on the CPU), and the operations that need them
 * read them there. Every operation computes each row the same way whatever else the step holds, so a sequence gets
 * the same numbers whether it runs alone or beside others.
 */
public interface Ops<B, M, V> {
    /** What a product does with its result, fused where the device can. */
    enum Epilogue {
        /** {@code out = w·x + bias}. */
        STORE,
        /** {@code out += w·x + bias}: the residual connection. */
        ADD,
        /** {@code out = gelu(w·x + bias)}, tanh approximation, as ggml evaluates it. */
        GELU
    }

    /** Which per-row input of the step a lookup reads. */
    enum RowInput {
        TOKENS,
        POSITIONS
    }

    /** The weight encodings products accept on this device. */
    Set<GGMLType> matrixTypes();

    /** The encodings of embedding tables this device looks rows up in. */
    Set<GGMLType> tableTypes();

    /** Rows {@code input[t]} of {@code table} into {@code out}; with {@code accumulate}, added to what is there. */
    void embed(M table, RowInput input, B out, int n, boolean accumulate);

    /**
     * Row t of {@code out} is the LayerNorm of row t of {@code x} ({@code (x - mean) / sqrt(var + eps) * weight +
     * bias}), or with {@code logitRowsOnly} of the step's t-th logit row, which gathers the rows the head needs.
     */
    void layerNorm(B x, boolean logitRowsOnly, B out, V weight, V bias, int n, int dim, float eps);

    /** As {@link #layerNorm}, RMSNorm: {@code x / sqrt(mean(x^2) + eps) * weight}. */
    void rmsNorm(B x, boolean logitRowsOnly, B out, V weight, int n, int dim, float eps);

    /** {@code out[t] = epilogue(w·x[t] + bias)} for {@code n} rows of the step; {@code bias} may be null. */
    void matmul(M w, B x, B out, V bias, int n, Epilogue epilogue);

    /**
     * The output head over the {@code m} gathered logit rows: each is computed as a single decoding token would be,
     * whatever else the step holds, so sampling sees the same logits alone or batched.
     */
    void logits(M head, B x, B out, int m);

    /**
     * Rotary positions, in place, on {@code heads} heads of {@code headDim} values at the start of each row of
     * {@code width}, at the step's positions. NEOX style rotates pairs (i, i + headDim/2); normal style (2i, 2i+1).
     */
    void rope(B x, int n, int width, int heads, int headDim, float freqBase, boolean neox);

    /**
     * Each row's key (at column {@code kOffset} of rows {@code kStride} wide) and value into {@code layer} of its
     * sequence's cache, at its position.
     */
    void kvStore(B k, int kOffset, int kStride, B v, int vOffset, int vStride, int n, int layer, int kvWidth);

    /**
     * Causal attention of each row's query heads (at column {@code qOffset} of rows {@code qStride} wide) over its
     * sequence's {@code layer} cache up to and including its own position; query head h uses KV head
     * {@code h / (heads / kvHeads)} of {@code shape}. The output rows are {@code heads * headDim} wide.
     */
    void attention(B q, int qOffset, int qStride, int n, int layer, AttentionHeads shape, B out);

    /** {@code gate = silu(gate) * up}, element-wise over {@code count} values. */
    void swiglu(B gate, B up, int count);
}
