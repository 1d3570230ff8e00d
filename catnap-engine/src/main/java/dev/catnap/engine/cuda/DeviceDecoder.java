package dev.catnap.engine.cuda;

import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.ModelConfig;
import dev.catnap.engine.model.SequenceCache;
import dev.catnap.engine.model.Transformer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A decoder whose weights, activations and KV caches live on one CUDA device. A step uploads its per-row inputs
 * (one copy from pinned memory), runs the architecture's kernels, and copies the wanted logits back; sampling stays
 * on the host. Steps of up to {@link #GRAPH_MAX_ROWS} rows (decoding) are captured once per batch shape as a CUDA
 * graph, upload and download included, and replayed: one launch per step instead of hundreds. Not thread-safe, like
 * every decoder; the context is made current on whichever thread calls.
 */
final class DeviceDecoder implements Decoder {
    static final int GRAPH_MAX_ROWS = DeviceOps.MATVEC_MAX_ROWS;
    /** Rows the buffers hold at first: the batched model's largest step. */
    private static final int INITIAL_ROWS = 256;

    private final CudaContext context;
    private final DeviceOps ops;
    private final Transformer<DeviceMatrix, Long> architecture;
    private final String description;
    private final Map<Long, CudaGraph> graphs = new HashMap<>();
    private int rowCapacity;
    private int logitCapacity;
    private List<Long> buffers;
    private long deviceInputs;
    private long scales;
    private long partials;
    private MemorySegment hostInputs;
    private long deviceLogits;
    private MemorySegment hostLogits;
    private boolean closed;

    DeviceDecoder(
            CudaContext context,
            DeviceOps ops,
            Transformer<DeviceMatrix, Long> architecture,
            long weightBytes,
            int logitRows) {
        this.context = context;
        this.ops = ops;
        this.architecture = architecture;
        this.description = "cuda, " + context.device().describe() + ", "
                + String.format(java.util.Locale.ROOT, "%.2f GB", weightBytes / 1e9) + " of weights resident";
        allocateRows(INITIAL_ROWS);
        allocateLogits(Math.max(1, logitRows));
    }

    @Override
    public ModelConfig config() {
        return architecture.config();
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public SequenceCache newCache(int capacity) {
        context.makeCurrent();
        ModelConfig c = config();
        return new DeviceSequenceCache(context, c.layers(), capacity, c.kvWidth());
    }

    @Override
    public void forward(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows, float[] logits) {
        int n = tokens.length, m = logitRows.length, vocab = config().vocabSize();
        if (n == 0) return;
        StepInputs in = prepare(tokens, positions, caches, logitRows);
        if (n <= GRAPH_MAX_ROWS) {
            long shape = ((long) n << 32) | m;
            CudaGraph graph = graphs.get(shape);
            if (graph == null) {
                graph = capture(in, n, m);
                graphs.put(shape, graph);
            }
            ops.stream().launch(graph);
        } else {
            enqueueStep(in, n, m);
        }
        ops.stream().synchronize();
        MemorySegment.copy(hostLogits, ValueLayout.JAVA_FLOAT, 0, logits, 0, m * vocab);
    }

    /**
     * Runs one step like {@link #forward} but uncaptured, with an event after every kernel, and returns the GPU time
     * per kind of kernel. Slower than a real step (events between kernels); for finding where time goes.
     */
    List<KernelTimeline.OpTime> profile(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows) {
        StepInputs in = prepare(tokens, positions, caches, logitRows);
        try (var timeline = new KernelTimeline()) {
            ops.startTimeline(timeline);
            try {
                enqueueStep(in, tokens.length, logitRows.length);
            } finally {
                ops.stopTimeline();
            }
            ops.stream().synchronize();
            return timeline.summary();
        }
    }

    /**
     * Checks a step's rows, makes room for them, and writes them to the pinned inputs block: what every step does
     * before its kernels.
     */
    private StepInputs prepare(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows) {
        if (closed) throw new IllegalStateException("the decoder is closed");
        Decoder.checkStep(tokens, positions, caches, logitRows, DeviceSequenceCache.class);
        int n = tokens.length, m = logitRows.length;
        context.makeCurrent();
        if (n > rowCapacity) allocateRows(Math.max(n, 2 * rowCapacity));
        if (m > logitCapacity) allocateLogits(Math.max(m, 2 * logitCapacity));
        writeInputs(tokens, positions, caches, logitRows);
        return inputs();
    }

    private CudaGraph capture(StepInputs in, int n, int m) {
        CudaStream stream = ops.stream();
        stream.beginCapture();
        try {
            enqueueStep(in, n, m);
        } catch (RuntimeException e) {
            try {
                stream.endCapture().close();
            } catch (RuntimeException ignored) {
                // The capture is already invalid; the original failure is the one to report.
            }
            throw e;
        }
        return stream.endCapture();
    }

    private void enqueueStep(StepInputs in, int n, int m) {
        CudaStream stream = ops.stream();
        stream.copyToDeviceAsync(deviceInputs, hostInputs, hostInputs.byteSize());
        ops.bind(in);
        architecture.forward(ops, buffers, n, m, deviceLogits);
        if (m > 0) stream.copyToHostAsync(hostLogits, deviceLogits, (long) m * config().vocabSize() * Float.BYTES);
    }

    /** Layout of the inputs block for R rows: tokens, positions, capacities, logit rows (int32), caches (u64). */
    private StepInputs inputs() {
        long r = rowCapacity;
        return new StepInputs(
                deviceInputs, deviceInputs + 4 * r, deviceInputs + 8 * r, deviceInputs + 12 * r, deviceInputs + 16 * r);
    }

    private void writeInputs(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows) {
        long r = rowCapacity;
        int n = tokens.length;
        for (int t = 0; t < n; t++) {
            var cache = (DeviceSequenceCache) caches[t];
            hostInputs.set(ValueLayout.JAVA_INT, 4L * t, tokens[t]);
            hostInputs.set(ValueLayout.JAVA_INT, 4 * r + 4L * t, positions[t]);
            hostInputs.set(ValueLayout.JAVA_INT, 8 * r + 4L * t, cache.capacity());
            hostInputs.set(ValueLayout.JAVA_LONG, 16 * r + 8L * t, cache.pointer());
        }
        for (int i = 0; i < logitRows.length; i++) {
            hostInputs.set(ValueLayout.JAVA_INT, 12 * r + 4L * i, logitRows[i]);
        }
    }

    /** (Re)allocates the activation buffers and the inputs block; graphs captured with the old ones are dropped. */
    private void allocateRows(int rows) {
        dropGraphs();
        if (buffers != null) {
            for (long b : buffers) context.free(b);
            context.free(deviceInputs);
            context.freeHost(hostInputs);
            context.free(scales);
            context.free(partials);
        }
        int[] widths = architecture.bufferWidths();
        var allocated = new java.util.ArrayList<Long>(widths.length);
        for (int width : widths) allocated.add(context.alloc((long) rows * width * Float.BYTES));
        buffers = List.copyOf(allocated);
        ModelConfig c = config();
        scales = context.alloc((long) rows * Float.BYTES);
        partials = context.alloc(DeviceOps.partialFloats(rows, c.heads(), c.headDim()) * Float.BYTES);
        ops.useScratch(scales, partials);
        deviceInputs = context.alloc(24L * rows);
        hostInputs = context.allocHost(24L * rows);
        rowCapacity = rows;
    }

    private void allocateLogits(int rows) {
        dropGraphs();
        if (hostLogits != null) {
            context.free(deviceLogits);
            context.freeHost(hostLogits);
        }
        long bytes = (long) rows * config().vocabSize() * Float.BYTES;
        deviceLogits = context.alloc(bytes);
        hostLogits = context.allocHost(bytes);
        logitCapacity = rows;
    }

    private void dropGraphs() {
        List<CudaGraph> captured = List.copyOf(graphs.values());
        graphs.clear();
        RuntimeException first = null;
        for (CudaGraph g : captured) {
            try {
                g.close();
            } catch (RuntimeException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        // After a device fault every call may fail; the context must still be released, or every later
        // Cuda.open in this process would inherit the broken primary context.
        try {
            context.makeCurrent();
            dropGraphs();
        } finally {
            context.close();
        }
    }
}
