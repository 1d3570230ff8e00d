package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGMLType;
import java.util.EnumMap;
import java.util.Map;

/**
 * The kernels of catnap-kernels.cu, one method per operation, enqueued on one stream. Pointers are device addresses;
 * per-row inputs (token ids, positions, cache addresses) are read by the kernels from device memory, so a captured
 * sequence of these calls replays correctly for any batch of the same shape.
 */
final class DeviceOps {
    /**
     * Rows up to which a product streams the weights once for all rows (matvec, F32); above it, 64x64 tiles on
     * tensor cores with F16 inputs (matmul).
     */
    static final int MATVEC_MAX_ROWS = 16;
    private static final int[] MATVEC_BUCKETS = {1, 2, 4, 8, 16};
    private static final int MATVEC_WARPS = 4;
    private static final int TILE = 64;
    static final int EPILOGUE_STORE = 0;
    static final int EPILOGUE_ADD = 1;
    static final int EPILOGUE_GELU = 2;

    private final CudaStream stream;
    /** Set while a step is profiled: an event after every kernel. */
    private KernelTimeline timeline;
    private final Map<GGMLType, CudaKernel[]> matvec = new EnumMap<>(GGMLType.class);
    private final Map<GGMLType, CudaKernel> matmul = new EnumMap<>(GGMLType.class);
    private final Map<GGMLType, CudaKernel> embed = new EnumMap<>(GGMLType.class);
    private final CudaKernel layerNorm;
    private final CudaKernel rmsNorm;
    private final CudaKernel rope;
    private final CudaKernel kvStore;
    private final CudaKernel attentionPart;
    private final CudaKernel attentionMerge;
    private final CudaKernel rowScale;
    /** Stretches of the keys that attention splits each row's keys into, as ATTENTION_SPLITS in layers.cuh. */
    static final int ATTENTION_SPLITS = 8;
    /** Scratch owned by the decoder: per-row scales of the tensor-core products, attention's partial results. */
    private long scales;
    private long partials;
    private final CudaKernel swiglu;

    DeviceOps(CudaModule module, CudaStream stream) {
        this.stream = stream;
        for (GGMLType type : DeviceWeights.TYPES) {
            String suffix = type.name().toLowerCase(java.util.Locale.ROOT);
            CudaKernel[] byRows = new CudaKernel[MATVEC_BUCKETS.length];
            for (int i = 0; i < byRows.length; i++) byRows[i] = module.kernel("matvec_" + suffix + "_n" + MATVEC_BUCKETS[i]);
            matvec.put(type, byRows);
            matmul.put(type, module.kernel("matmul_" + suffix));
            embed.put(type, module.kernel("embed_" + suffix));
        }
        layerNorm = module.kernel("layer_norm");
        rmsNorm = module.kernel("rms_norm");
        rope = module.kernel("rope");
        kvStore = module.kernel("kv_store");
        attentionPart = module.kernel("attention_part");
        attentionMerge = module.kernel("attention_merge");
        rowScale = module.kernel("row_scale");
        swiglu = module.kernel("swiglu");
    }

    CudaStream stream() {
        return stream;
    }

    /** Floats of attention scratch for {@code rows} rows. */
    static long partialFloats(int rows, int heads, int headDim) {
        return (long) rows * heads * ATTENTION_SPLITS * (headDim + 2);
    }

    /** The scratch buffers: {@code rows} floats of scales, {@link #partialFloats} floats of attention partials. */
    void useScratch(long scales, long partials) {
        this.scales = scales;
        this.partials = partials;
    }

    /** Records an event after every kernel until {@link #stopTimeline()}; for profiling, never inside a capture. */
    void startTimeline(KernelTimeline timeline) {
        this.timeline = timeline;
        timeline.start(stream.recordEvent());
    }

    void stopTimeline() {
        timeline = null;
    }

    /** Marks the end of a kernel on the timeline, when profiling; free otherwise (the label is built only then). */
    private void launched(String kernel) {
        if (timeline != null) timeline.add(kernel, 0, 0, stream.recordEvent());
    }

    /** As {@link #launched(String)}, for a product: labelled with the matrix, counting its bytes and flops. */
    private void launched(String kernel, DeviceMatrix w, int n) {
        if (timeline != null) {
            timeline.add(kernel + " " + w.type() + " " + w.cols() + "x" + w.rows(), w.bytes(),
                    2L * w.cols() * w.rows() * n, stream.recordEvent());
        }
    }

    /** {@code out[t] = epilogue(w · x[t] + bias)} for {@code n} rows; {@code bias} may be 0 (none). */
    void matmul(DeviceMatrix w, long x, long out, long bias, int n, int epilogue) {
        if (n <= MATVEC_MAX_ROWS) {
            int bucket = 0;
            while (MATVEC_BUCKETS[bucket] < n) bucket++;
            // Weight rows per warp, as MatvecShape in matmul.cuh: two once four or more activation rows share them.
            int rowsPerWarp = MATVEC_BUCKETS[bucket] >= 4 ? 2 : 1;
            stream.launch(matvec.get(w.type())[bucket], ceilDiv(w.rows(), MATVEC_WARPS * rowsPerWarp), 1, 1,
                    MATVEC_WARPS * 32,
                    w.pointer(), x, out, bias, w.cols(), w.rows(), n, epilogue);
            launched("matvec", w, n);
        } else {
            stream.launch(rowScale, n, 1, 1, 256, x, w.cols(), scales);
            launched("row_scale");
            stream.launch(matmul.get(w.type()), ceilDiv(w.rows(), TILE), ceilDiv(n, TILE), 1, 128,
                    w.pointer(), x, out, bias, w.cols(), w.rows(), n, epilogue, scales);
            launched("matmul", w, n);
        }
    }

    /** Rows {@code ids[t]} of a table into {@code out}; with {@code accumulate}, added to what is there. */
    void embed(DeviceMatrix table, long ids, long out, int n, boolean accumulate) {
        stream.launch(embed.get(table.type()), n, 1, 1, 256, table.pointer(), table.cols(), ids, out, accumulate ? 1 : 0);
        launched("embed");
    }

    /** Row t of {@code out} is the LayerNorm of row {@code rowIndex[t]} of {@code x} (row t when rowIndex is 0). */
    void layerNorm(long x, long rowIndex, long out, long weight, long bias, int n, int dim, float eps) {
        stream.launch(layerNorm, n, 1, 1, 256, x, rowIndex, out, weight, bias, dim, eps);
        launched("layer_norm");
    }

    void rmsNorm(long x, long rowIndex, long out, long weight, int n, int dim, float eps) {
        stream.launch(rmsNorm, n, 1, 1, 256, x, rowIndex, out, weight, dim, eps);
        launched("rms_norm");
    }

    /** Rotates {@code heads} heads at the start of each row of width {@code width}, in place. */
    void rope(long x, int n, int width, int heads, int headDim, long positions, float thetaScale, boolean neox) {
        int threads = Math.max(32, ceilDiv(headDim / 2, 32) * 32);
        stream.launch(rope, n, heads, 1, threads, x, width, heads, headDim, positions, thetaScale, neox ? 1 : 0);
        launched("rope");
    }

    /** Each row's key and value into its sequence's cache at its position. */
    void kvStore(long k, int kStride, long v, int vStride, StepInputs in, int n, int layer, int kvWidth) {
        stream.launch(kvStore, n, 1, 1, 256, k, kStride, v, vStride, in.caches(), in.capacities(), in.positions(),
                layer, kvWidth);
        launched("kv_store");
    }

    /** Attention of each row's query heads over its sequence's cache, up to and including its own position. */
    void attention(long q, int qStride, StepInputs in, int n, int layer, int heads, int kvHeads, int headDim,
                   float scale, long out) {
        stream.launch(attentionPart, n, heads, ATTENTION_SPLITS, 256, q, qStride, in.caches(), in.capacities(),
                in.positions(), layer, heads, kvHeads, headDim, scale, partials);
        launched("attention");
        stream.launch(attentionMerge, n, heads, 1, Math.max(32, ceilDiv(headDim, 32) * 32), partials, heads, headDim,
                out);
        launched("attention_merge");
    }

    /** {@code gate = silu(gate) * up} over {@code count} values. */
    void swiglu(long gate, long up, int count) {
        stream.launch(swiglu, ceilDiv(count, 256), 1, 1, 256, gate, up, count);
        launched("swiglu");
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
