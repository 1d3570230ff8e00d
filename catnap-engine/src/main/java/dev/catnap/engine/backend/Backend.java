package dev.catnap.engine.backend;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The CPU's row operations over heap {@code float[]} batches: what {@code CpuOps} runs decoders' passes with, and
 * what the encoders are written in (they run on the CPU only). Row {@code t} of a batch of width {@code w} starts
 * at {@code t * w}. Weights are GGUF tensors read in place; a matrix of ggml shape {@code [cols, rows]}
 * maps {@code cols} inputs to {@code rows} outputs.
 *
 * <p>Every operation computes each row the same way whatever the batch holds, so a sequence gets the same numbers
 * whether it runs alone or with others.
 */
public interface Backend extends AutoCloseable {
    /** A short description for logs, e.g. "cpu, 2 threads, 256-bit vectors". */
    String description();

    /** The weight types {@link #matmul} accepts. */
    boolean supports(GGMLType type);

    /** {@link #supports} as a set, for {@link dev.catnap.engine.model.Weights}. */
    default Set<GGMLType> matrixTypes() {
        var types = EnumSet.noneOf(GGMLType.class);
        for (GGMLType t : GGMLType.values()) {
            if (supports(t)) types.add(t);
        }
        return Collections.unmodifiableSet(types);
    }

    /**
     * {@code out[t][r] = sum_i w[r][i] * x[t][i]} for {@code n} rows of {@code x}; {@code out} has width rows(w).
     * The first {@code oneTokenRows} rows are single tokens of their sequences (decoding), the rest rows of longer
     * runs (prompts): a backend may compute the two kinds with different kernels, whose results agree to float
     * rounding. Each row's result depends only on its own values and kind, never on the other rows, so a sequence
     * gets the same numbers whether it runs alone or beside others.
     */
    void matmul(GGUFTensor w, float[] x, float[] out, int n, int oneTokenRows);

    /** {@link #matmul(GGUFTensor, float[], float[], int, int)} with every row a row of a longer run. */
    default void matmul(GGUFTensor w, float[] x, float[] out, int n) {
        matmul(w, x, out, n, 0);
    }

    /** Rows {@code ids[t]} of an embedding table, dequantized, into {@code out} (width cols). */
    void embed(GGUFTensor table, int[] ids, float[] out);

    /** LayerNorm of each row of width {@code dim}, in place: {@code (x - mean) / sqrt(var + eps) * weight + bias}. */
    void layerNorm(float[] x, int n, int dim, float[] weight, float[] bias, float eps);

    /** RMSNorm of each row, in place: {@code x / sqrt(mean(x^2) + eps) * weight}. */
    void rmsNorm(float[] x, int n, int dim, float[] weight, float eps);

    /** Adds {@code bias} to each row. */
    void addBias(float[] x, int n, float[] bias);

    /** {@code x += y}, element-wise over {@code count} values. */
    void add(float[] x, float[] y, int count);

    /** tanh-approximation GELU, in place over {@code count} values, as ggml evaluates it (through an F16 table). */
    void gelu(float[] x, int count);

    /** {@code gate = silu(gate) * up}, element-wise over {@code count} values. */
    void swiglu(float[] gate, float[] up, int count);

    /**
     * Rotary position embedding, in place, on {@code heads} heads of {@code headDim} values starting at column
     * {@code offset} of each row of width {@code width}. NEOX style rotates pairs (i, i + headDim/2); normal style
     * rotates (2i, 2i+1).
     */
    void rope(
            float[] x,
            int n,
            int width,
            int offset,
            int heads,
            int headDim,
            int[] positions,
            float freqBase,
            boolean neox);

    /**
     * Scaled dot-product attention for {@code n} query rows. Row t attends to the first {@code lengths[t]} entries of
     * {@code keys[t]} / {@code values[t]} (each entry is {@code kvHeads * headDim} values); query head h uses KV head
     * {@code h / (heads / kvHeads)}. Queries are at column {@code qOffset} of rows of width {@code qWidth}; the
     * output row has width {@code heads * headDim}.
     */
    void attention(
            float[] q,
            int qWidth,
            int qOffset,
            int n,
            float[][] keys,
            float[][] values,
            int[] lengths,
            int heads,
            int kvHeads,
            int headDim,
            float scale,
            float[] out);

    @Override
    void close();
}
