package dev.catnap.engine.cpu;

import dev.catnap.engine.backend.Backend;
import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The Vector API backend: all operations run on a persistent pool of compute threads. */
public final class CpuBackend implements Backend {
    private static final VectorSpecies<Float> F = MatMul.F;
    /** Below this many multiply-adds a loop is not worth waking the other threads. */
    private static final long PARALLEL_WORK = 1 << 15;

    private final ComputeThreads pool;
    /** Per compute thread: four widened weight rows for the matmul tiles, and attention scores. */
    private final float[][][] rowScratch;

    private final float[][] scoreScratch;
    /** The activations of the current product, rounded to Q8_0 for Q8_0 and Q4_0 weights. */
    private final Q8Activations quantized = new Q8Activations();

    private final boolean roundActivations;

    /** The rows of prompts of the current product, transposed for {@link PromptTiles}, and their block scales. */
    private float[] transposed = new float[0];

    private float[] transposedScales = new float[0];

    /** The chunk results of the current {@link SharedKvAttention} call. */
    private float[] partials = new float[0];

    /** Weights in the kernels' layout where it differs from the file's ({@link RowGroups}), by tensor (identity: the model keeps its tensors). */
    private final Map<GGUFTensor, Weights> groupedWeights = new IdentityHashMap<>();

    /**
     * A matrix as the kernels read it: the file's data in the file's layout, or a copy in one of {@link RowGroups}'
     * (for F16, marked when the copy found every half finite).
     */
    private record Weights(MemorySegment data, RowGroups.Layout layout) {}

    private final Arena groupedArena = Arena.ofShared();

    /** Guarded by {@code groupedWeights}. */
    private Copied copied = new Copied(0, 0);

    private final HugePages hugePages = HugePages.linux();

    public CpuBackend(int threads) {
        this(threads, true);
    }

    /**
     * {@code roundActivations}: whether Q8_0 and Q4_0 products round activations to Q8_0 as ggml does (the default).
     * Without it they keep float32 activations, the arithmetic of the CUDA kernels, which is what comparing the two
     * devices needs.
     */
    public CpuBackend(int threads, boolean roundActivations) {
        this.roundActivations = roundActivations;
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        this.pool = new ComputeThreads(threads);
        this.rowScratch = new float[threads][MatMul.SCRATCH][0];
        this.scoreScratch = new float[threads][0];
    }

    @Override
    public String description() {
        return "cpu, " + pool.threads() + " threads, " + F.vectorBitSize() + "-bit vectors";
    }

    @Override
    public boolean supports(GGMLType type) {
        return MatMul.supports(type);
    }

    @Override
    public void matmul(GGUFTensor w, float[] x, float[] out, int n, int oneTokenRows) {
        if (oneTokenRows < 0 || oneTokenRows > n) {
            throw new IllegalArgumentException("matmul " + w.name() + ": " + oneTokenRows + " one-token rows of " + n);
        }
        int cols = (int) w.dim(0);
        int rows = (int) w.dim(1);
        if (x.length < (long) n * cols || out.length < (long) n * rows) {
            throw new IllegalArgumentException("matmul " + w.name() + ": buffers too small for " + n + " rows");
        }
        GGMLType type = w.type();
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor " + w.name() + ": row length " + cols
                    + " is not a multiple of the " + type + " block size " + type.blockSize());
        }
        // Chunks of output rows: enough for load balance, large enough that each thread streams long runs of weights.
        int threads = pool.threads();
        int chunkRows = Math.max(16, rows / (threads * 16));
        chunkRows = (chunkRows + 15) & ~15;
        int chunks = (rows + chunkRows - 1) / chunkRows;
        if ((long) rows * cols * n < PARALLEL_WORK) chunks = 1;
        int size = chunks == 1 ? rows : chunkRows;
        Weights weights = weights(w);
        var data = weights.data();
        var layout = weights.layout();
        boolean rounded = roundActivations && QuantizedDot.handles(type);
        if (rounded) quantized.quantize(type, x, n, cols, oneTokenRows);
        var prompt = oneTokenRows < n ? transposePromptRows(rounded, x, n, cols, oneTokenRows) : null;
        pool.run(chunks, (c, worker) -> {
            int r0 = c * size;
            int r1 = Math.min(rows, r0 + size);
            float[][] scratch = rowScratch[worker];
            for (int i = 0; i < scratch.length; i++) {
                int need = MatMul.scratchFloats(i, cols);
                if (scratch[i].length < need) scratch[i] = new float[need];
            }
            MatMul.rows(
                    type,
                    data,
                    cols,
                    rows,
                    layout,
                    r0,
                    r1,
                    x,
                    n,
                    oneTokenRows,
                    out,
                    scratch,
                    rounded ? quantized : null,
                    prompt);
        });
    }

    /**
     * Rows [oneTokenRows, n), the rows of prompts, transposed for {@link PromptTiles}, by all threads (each a block
     * of tokens and a share of the columns): the rounded activations' integers and scales if {@code rounded}, else
     * {@code x}.
     */
    private PromptTiles.Transposed transposePromptRows(boolean rounded, float[] x, int n, int cols, int oneTokenRows) {
        int count = n - oneTokenRows;
        int size = PromptTiles.size(count, cols);
        if (transposed.length < size) transposed = new float[size];
        int scales = PromptTiles.scalesSize(count, cols);
        if (rounded && transposedScales.length < scales) transposedScales = new float[scales];
        float[] xt = transposed, xs = transposedScales;
        int parts = pool.threads();
        int share = ((cols + parts - 1) / parts + 63) & ~63;
        pool.run(PromptTiles.tokenBlocks(count) * parts, (c, worker) -> {
            int b = c / parts, from = (c % parts) * share, to = Math.min(cols, from + share);
            if (from >= to) return;
            if (rounded) PromptTiles.transpose(quantized.q, quantized.d, oneTokenRows, n, cols, b, from, to, xt, xs);
            else PromptTiles.transpose(x, oneTokenRows, n, cols, b, from, to, xt);
        });
        return new PromptTiles.Transposed(xt, rounded ? xs : null, oneTokenRows, count);
    }

    /**
     * Copies {@code w} into the layout the kernels read, if that is not the file's ({@link RowGroups}): at load, so
     * that the first product does not pay for it. Products of weights not prepared make their copy on first use.
     */
    void prepare(GGUFTensor w) {
        weights(w);
    }

    /** {@code w} in the layout the kernels read on this CPU: the file's data, or the copy {@link #grouped} makes. */
    private Weights weights(GGUFTensor w) {
        var layout = RowGroups.Layout.of(w.type(), (int) w.dim(0), (int) w.dim(1));
        return layout.grouped() ? grouped(w, layout) : new Weights(w.data(), layout);
    }

    /** The weights held in the kernels' own layout so far, and the time their copies took. */
    record Copied(long bytes, long nanos) {}

    Copied copied() {
        synchronized (groupedWeights) {
            return copied;
        }
    }

    /**
     * {@code w}'s data in {@code layout} (grouped), made by {@link #prepare} or on its first product, in parallel,
     * and kept until {@link #close}. The file's pages of it are then released: the copy takes their place in memory,
     * and a tensor also read for other uses (a tied embedding table) pages back in what those read.
     */
    private Weights grouped(GGUFTensor w, RowGroups.Layout layout) {
        synchronized (groupedWeights) {
            Weights done = groupedWeights.get(w);
            if (done != null) return done;
            long start = System.nanoTime();
            MemorySegment plain = w.data();
            long size = plain.byteSize() + RowGroups.PLACEMENT_SLACK;
            MemorySegment block = hugePages == null ? null : hugePages.allocate(groupedArena, size);
            if (block == null) block = groupedArena.allocate(size, 64);
            MemorySegment copy = RowGroups.place(block, plain.byteSize());
            MemorySegment into = copy;
            int rows = layout.rows();
            int groups = (rows + RowGroups.ROWS - 1) / RowGroups.ROWS;
            int perChunk = Math.max(1, groups / (pool.threads() * 4));
            int chunks = (groups + perChunk - 1) / perChunk;
            boolean halves = w.type() == GGMLType.F16;
            var nonFinite = new AtomicBoolean();
            pool.run(chunks, (c, worker) -> {
                int r0 = c * perChunk * RowGroups.ROWS, r1 = Math.min(rows, r0 + perChunk * RowGroups.ROWS);
                RowGroups.group(layout, plain, into, r0, r1);
                // while the rows are in cache
                long rowBytes = layout.rowBytes();
                if (halves && !RowGroups.finiteHalves(plain, r0 * rowBytes, r1 * rowBytes)) nonFinite.set(true);
            });
            if (plain.isMapped()) plain.unload();
            var grouped = new Weights(copy, halves && !nonFinite.get() ? layout.withFiniteHalves() : layout);
            groupedWeights.put(w, grouped);
            copied = new Copied(copied.bytes() + copy.byteSize(), copied.nanos() + System.nanoTime() - start);
            return grouped;
        }
    }

    @Override
    public void embed(GGUFTensor table, int[] ids, float[] out) {
        int cols = (int) table.dim(0);
        long rows = table.dim(1);
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= rows) {
                throw new IllegalArgumentException("token id " + ids[t] + " is outside the vocabulary of " + rows);
            }
            Dequantize.dequantize(table.type(), table.data(), (long) ids[t] * cols, out, t * cols, cols);
        }
    }

    @Override
    public void layerNorm(float[] x, int n, int dim, float[] weight, float[] bias, float eps) {
        rowsInParallel(n, dim, t -> {
            int o = t * dim;
            double sum = 0;
            for (int i = 0; i < dim; i++) sum += x[o + i];
            float mean = (float) (sum / dim);
            double sq = 0;
            for (int i = 0; i < dim; i++) {
                float v = x[o + i] - mean;
                x[o + i] = v;
                sq += (double) v * v;
            }
            float scale = (float) (1.0 / Math.sqrt((float) (sq / dim) + eps));
            for (int i = 0; i < dim; i++) x[o + i] = x[o + i] * scale * weight[i] + (bias == null ? 0f : bias[i]);
        });
    }

    @Override
    public void rmsNorm(float[] x, int n, int dim, float[] weight, float eps) {
        rowsInParallel(n, dim, t -> {
            int o = t * dim;
            double sq = 0;
            for (int i = 0; i < dim; i++) sq += (double) x[o + i] * x[o + i];
            float scale = (float) (1.0 / Math.sqrt((float) (sq / dim) + eps));
            for (int i = 0; i < dim; i++) x[o + i] = x[o + i] * scale * weight[i];
        });
    }

    @Override
    public void addBias(float[] x, int n, float[] bias) {
        int dim = bias.length;
        for (int t = 0; t < n; t++) {
            int o = t * dim;
            for (int i = 0; i < dim; i++) x[o + i] += bias[i];
        }
    }

    @Override
    public void add(float[] x, float[] y, int count) {
        int i = 0;
        for (int bound = F.loopBound(count); i < bound; i += F.length()) {
            FloatVector.fromArray(F, x, i).add(FloatVector.fromArray(F, y, i)).intoArray(x, i);
        }
        for (; i < count; i++) x[i] += y[i];
    }

    @Override
    public void gelu(float[] x, int count) {
        int chunk = 8192;
        int chunks = (count + chunk - 1) / chunk;
        pool.run(chunks, (c, worker) -> {
            for (int i = c * chunk, end = Math.min(count, i + chunk); i < end; i++) x[i] = Gelu.apply(x[i]);
        });
    }

    @Override
    public void swiglu(float[] gate, float[] up, int count) {
        for (int i = 0; i < count; i++) {
            float g = gate[i];
            gate[i] = g / (1.0f + (float) Math.exp(-g)) * up[i];
        }
    }

    @Override
    public void rope(
            float[] x,
            int n,
            int width,
            int offset,
            int heads,
            int headDim,
            int[] positions,
            float freqBase,
            boolean neox) {
        int half = headDim / 2;
        // ggml advances theta by repeated float multiplication; doing the same keeps the angles bit-compatible.
        float thetaScale = (float) Math.pow(freqBase, -2.0 / headDim);
        float[] cos = new float[half];
        float[] sin = new float[half];
        for (int t = 0; t < n; t++) {
            float theta = positions[t];
            for (int i = 0; i < half; i++) {
                cos[i] = (float) Math.cos(theta);
                sin[i] = (float) Math.sin(theta);
                theta *= thetaScale;
            }
            for (int h = 0; h < heads; h++) {
                int o = t * width + offset + h * headDim;
                for (int i = 0; i < half; i++) {
                    int a = neox ? o + i : o + 2 * i;
                    int b = neox ? o + i + half : o + 2 * i + 1;
                    float x0 = x[a], x1 = x[b];
                    x[a] = x0 * cos[i] - x1 * sin[i];
                    x[b] = x0 * sin[i] + x1 * cos[i];
                }
            }
        }
    }

    @Override
    public void attention(
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
            float[] out) {
        int group = heads / kvHeads;
        int kvWidth = kvHeads * headDim;
        int outWidth = heads * headDim;
        long work = 0;
        for (int t = 0; t < n; t++) work += (long) lengths[t] * outWidth * 2;
        boolean serial = work < PARALLEL_WORK;
        if (SharedKvAttention.applies(heads, kvHeads)) {
            sharedKvAttention(
                    q, qWidth, qOffset, n, keys, values, lengths, heads, group, kvWidth, headDim, scale, out, serial);
            return;
        }
        forEachTask(n * heads, serial, (task, worker) -> {
            int t = task / heads, h = task % heads;
            if (scoreScratch[worker].length < lengths[t]) scoreScratch[worker] = new float[Math.max(lengths[t], 256)];
            attendOne(
                    q,
                    t * qWidth + qOffset + h * headDim,
                    keys[t],
                    values[t],
                    lengths[t],
                    (h / group) * headDim,
                    kvWidth,
                    headDim,
                    scale,
                    out,
                    t * outWidth + h * headDim,
                    scoreScratch[worker]);
        });
    }

    /**
     * {@link #attention} with {@link SharedKvAttention}: every chunk of keys of every row and set of heads on the
     * threads, then the chunks of each row and set merged.
     */
    private void sharedKvAttention(
            float[] q,
            int qWidth,
            int qOffset,
            int n,
            float[][] keys,
            float[][] values,
            int[] lengths,
            int heads,
            int group,
            int kvWidth,
            int headDim,
            float scale,
            float[] out,
            boolean serial) {
        int sets = heads / group * SharedKvAttention.setsPerKvHead(group), outWidth = heads * headDim;
        // the first chunk of each row's first set; a row's sets follow each other, each with the row's chunks
        int[] first = new int[n + 1];
        for (int t = 0; t < n; t++) first[t + 1] = first[t] + sets * SharedKvAttention.chunks(lengths[t]);
        int slots = first[n], size = SharedKvAttention.partialFloats(headDim);
        if (partials.length < (long) slots * size) partials = new float[slots * size];
        float[] p = partials;
        int need = SharedKvAttention.scratchFloats(headDim);
        forEachTask(slots, serial, (slot, worker) -> {
            if (scoreScratch[worker].length < need) scoreScratch[worker] = new float[need];
            int t = rowOf(first, slot), chunks = SharedKvAttention.chunks(lengths[t]);
            int set = (slot - first[t]) / chunks, from = (slot - first[t]) % chunks * SharedKvAttention.CHUNK;
            int h0 = SharedKvAttention.firstHead(set, group);
            SharedKvAttention.chunk(
                    q,
                    t * qWidth + qOffset + h0 * headDim,
                    SharedKvAttention.width(set, group),
                    keys[t],
                    values[t],
                    from,
                    Math.min(lengths[t], from + SharedKvAttention.CHUNK),
                    h0 / group * headDim,
                    kvWidth,
                    headDim,
                    scale,
                    p,
                    slot * size,
                    scoreScratch[worker]);
        });
        forEachTask(n * sets, serial, (task, worker) -> {
            if (scoreScratch[worker].length < need) scoreScratch[worker] = new float[need];
            int t = task / sets, set = task % sets, chunks = SharedKvAttention.chunks(lengths[t]);
            int h0 = SharedKvAttention.firstHead(set, group);
            SharedKvAttention.merge(
                    p,
                    (first[t] + set * chunks) * size,
                    chunks,
                    headDim,
                    SharedKvAttention.width(set, group),
                    out,
                    t * outWidth + h0 * headDim,
                    scoreScratch[worker]);
        });
    }

    /** Tasks [0, tasks) on the threads, one chunk each, or all on the calling thread if {@code serial}. */
    private void forEachTask(int tasks, boolean serial, ComputeThreads.Body body) {
        pool.run(serial ? 1 : tasks, (c, worker) -> {
            for (int task = serial ? 0 : c, to = serial ? tasks : c + 1; task < to; task++) body.run(task, worker);
        });
    }

    /** The row whose slots, from {@code first[t]} to {@code first[t + 1]} (increasing), hold {@code slot}. */
    private static int rowOf(int[] first, int slot) {
        int i = java.util.Arrays.binarySearch(first, 0, first.length - 1, slot);
        return i >= 0 ? i : -i - 2;
    }

    private static void attendOne(
            float[] q,
            int qo,
            float[] k,
            float[] v,
            int len,
            int kvo,
            int kvWidth,
            int headDim,
            float scale,
            float[] out,
            int oo,
            float[] scores) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            float s = dot(q, qo, k, j * kvWidth + kvo, headDim) * scale;
            scores[j] = s;
            if (s > max) max = s;
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            float e = (float) Math.exp(scores[j] - max);
            scores[j] = e;
            sum += e;
        }
        float inv = (float) (1.0 / sum);
        java.util.Arrays.fill(out, oo, oo + headDim, 0f);
        int bound = F.loopBound(headDim);
        for (int j = 0; j < len; j++) {
            float p = scores[j] * inv;
            int vo = j * kvWidth + kvo;
            int i = 0;
            FloatVector pv = FloatVector.broadcast(F, p);
            for (; i < bound; i += F.length()) {
                FloatVector.fromArray(F, v, vo + i)
                        .fma(pv, FloatVector.fromArray(F, out, oo + i))
                        .intoArray(out, oo + i);
            }
            for (; i < headDim; i++) out[oo + i] += p * v[vo + i];
        }
    }

    private static float dot(float[] a, int ao, float[] b, int bo, int len) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(len); i < bound; i += F.length()) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float s = MatMul.sum(acc);
        for (; i < len; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    private void rowsInParallel(int n, int dim, java.util.function.IntConsumer row) {
        if ((long) n * dim < PARALLEL_WORK || n < 2) {
            for (int t = 0; t < n; t++) row.accept(t);
        } else {
            pool.run(n, (t, worker) -> row.accept(t));
        }
    }

    @Override
    public void close() {
        pool.close();
        synchronized (groupedWeights) {
            groupedWeights.clear();
            if (groupedArena.scope().isAlive()) groupedArena.close();
        }
    }
}
