package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.model.AttentionHeads;
import dev.catnap.engine.model.Ops;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * CUDA's {@link Ops}: the kernels of catnap-kernels.cu, one method per operation, enqueued on one stream, with
 * biases, GELU and residual additions fused into the products. Buffers and vectors are device addresses;
 * per-row inputs (token ids, positions, cache addresses) are read by the kernels from device memory, so a captured
 * sequence of these calls replays correctly for any batch of the same shape.
 */
final class DeviceOps implements Ops<Long, DeviceMatrix, Long> {
    /**
     * Rows up to which a product streams the weights once for all rows (matvec, F32); above it, 64x64 tiles on
     * tensor cores with F16 inputs (matmul).
     */
    static final int MATVEC_MAX_ROWS = 16;

    private static final int[] MATVEC_BUCKETS = {1, 2, 4, 8, 16};
    private static final int MATVEC_WARPS = 4;
    private static final int TILE = 64;

    private final CudaStream stream;
    /** The step being enqueued: where its per-row inputs are on the device. */
    private StepInputs step;
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
            for (int i = 0; i < byRows.length; i++)
                byRows[i] = module.kernel("matvec_" + suffix + "_n" + MATVEC_BUCKETS[i]);
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
            timeline.add(
                    kernel + " " + w.type() + " " + w.cols() + "x" + w.rows(),
                    w.bytes(),
                    2L * w.cols() * w.rows() * n,
                    stream.recordEvent());
        }
    }

    /** Binds the step whose per-row inputs the operations read: set before each step is enqueued (or captured). */
    void bind(StepInputs step) {
        this.step = step;
    }

    @Override
    public Set<GGMLType> matrixTypes() {
        return DeviceWeights.TYPES;
    }

    @Override
    public Set<GGMLType> tableTypes() {
        return DeviceWeights.TYPES;
    }

    @Override
    public void matmul(DeviceMatrix w, Long x, Long out, Long bias, int n, Epilogue epilogue) {
        int code = switch (epilogue) {
            // As EPILOGUE_* in matmul.cuh.
            case STORE -> 0;
            case ADD -> 1;
            case GELU -> 2;
        };
        if (n <= MATVEC_MAX_ROWS) {
            int bucket = 0;
            while (MATVEC_BUCKETS[bucket] < n) bucket++;
            // Weight rows per warp, as MatvecShape in matmul.cuh: two once four or more activation rows share them.
            int rowsPerWarp = MATVEC_BUCKETS[bucket] >= 4 ? 2 : 1;
            stream.launch(
                    matvec.get(w.type())[bucket],
                    ceilDiv(w.rows(), MATVEC_WARPS * rowsPerWarp),
                    1,
                    1,
                    MATVEC_WARPS * 32,
                    w.pointer(),
                    (long) x,
                    (long) out,
                    orNull(bias),
                    w.cols(),
                    w.rows(),
                    n,
                    code);
            launched("matvec", w, n);
        } else {
            stream.launch(rowScale, n, 1, 1, 256, (long) x, w.cols(), scales);
            launched("row_scale");
            stream.launch(
                    matmul.get(w.type()),
                    ceilDiv(w.rows(), TILE),
                    ceilDiv(n, TILE),
                    1,
                    128,
                    w.pointer(),
                    (long) x,
                    (long) out,
                    orNull(bias),
                    w.cols(),
                    w.rows(),
                    n,
                    code,
                    scales);
            launched("matmul", w, n);
        }
    }

    @Override
    public void logits(DeviceMatrix head, Long x, Long out, int m) {
        // The device's kernels compute every row the same way, decoding or not.
        matmul(head, x, out, null, m, Epilogue.STORE);
    }

    @Override
    public void embed(DeviceMatrix table, RowInput input, Long out, int n, boolean accumulate) {
        long ids = input == RowInput.TOKENS ? step.tokens() : step.positions();
        stream.launch(
                embed.get(table.type()),
                n,
                1,
                1,
                256,
                table.pointer(),
                table.cols(),
                ids,
                (long) out,
                accumulate ? 1 : 0);
        launched("embed");
    }

    @Override
    public void layerNorm(Long x, boolean logitRowsOnly, Long out, Long weight, Long bias, int n, int dim, float eps) {
        stream.launch(
                layerNorm,
                n,
                1,
                1,
                256,
                (long) x,
                rowIndex(logitRowsOnly),
                (long) out,
                (long) weight,
                orNull(bias),
                dim,
                eps);
        launched("layer_norm");
    }

    @Override
    public void rmsNorm(Long x, boolean logitRowsOnly, Long out, Long weight, int n, int dim, float eps) {
        stream.launch(rmsNorm, n, 1, 1, 256, (long) x, rowIndex(logitRowsOnly), (long) out, (long) weight, dim, eps);
        launched("rms_norm");
    }

    @Override
    public void rope(Long x, int n, int width, int heads, int headDim, float freqBase, boolean neox) {
        // As the CPU: ggml's angle step, computed once in double and rounded to F32.
        float thetaScale = (float) Math.pow(freqBase, -2.0 / headDim);
        int threads = Math.max(32, ceilDiv(headDim / 2, 32) * 32);
        stream.launch(
                rope,
                n,
                heads,
                1,
                threads,
                (long) x,
                width,
                heads,
                headDim,
                step.positions(),
                thetaScale,
                neox ? 1 : 0);
        launched("rope");
    }

    @Override
    public void kvStore(
            Long k, int kOffset, int kStride, Long v, int vOffset, int vStride, int n, int layer, int kvWidth) {
        stream.launch(
                kvStore,
                n,
                1,
                1,
                256,
                k + (long) kOffset * Float.BYTES,
                kStride,
                v + (long) vOffset * Float.BYTES,
                vStride,
                step.caches(),
                step.capacities(),
                step.positions(),
                layer,
                kvWidth);
        launched("kv_store");
    }

    @Override
    public void attention(Long q, int qOffset, int qStride, int n, int layer, AttentionHeads shape, Long out) {
        int heads = shape.heads(), kvHeads = shape.kvHeads(), headDim = shape.headDim();
        float scale = shape.scale();
        stream.launch(
                attentionPart,
                n,
                heads,
                ATTENTION_SPLITS,
                256,
                q + (long) qOffset * Float.BYTES,
                qStride,
                step.caches(),
                step.capacities(),
                step.positions(),
                layer,
                heads,
                kvHeads,
                headDim,
                scale,
                partials);
        launched("attention");
        stream.launch(
                attentionMerge, n, heads, 1, Math.max(32, ceilDiv(headDim, 32) * 32), partials, heads, headDim, (long)
                        out);
        launched("attention_merge");
    }

    @Override
    public void swiglu(Long gate, Long up, int count) {
        stream.launch(swiglu, ceilDiv(count, 256), 1, 1, 256, (long) gate, (long) up, count);
        launched("swiglu");
    }

    /** The kernels' row index: the step's logit rows, or 0 for "row t is row t". */
    private long rowIndex(boolean logitRowsOnly) {
        return logitRowsOnly ? step.logitRows() : 0L;
    }

    /** A null device pointer, which the kernels read as "none", for an absent bias. */
    private static long orNull(Long pointer) {
        return pointer == null ? 0L : pointer;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
