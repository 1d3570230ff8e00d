package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.AttentionHeads;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.Ops;
import dev.catnap.engine.model.SequenceCache;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * The CPU's {@link Ops}: {@link CpuBackend}'s Vector API kernels over heap rows ({@code float[]}), weights used in
 * place from the mapped file. Fused epilogues are separate passes here (a product, then its bias, then the residual
 * addition or GELU): on the CPU the product dominates and the passes stay in cache. Bound to one step at a time by
 * {@link CpuDecoder}.
 */
final class CpuOps implements Ops<float[], GGUFTensor, float[]> {
    private final CpuBackend backend;
    private final Set<GGMLType> matrixTypes;
    private int[] tokens = new int[0];
    private int[] positions = new int[0];
    private int[] logitRows = new int[0];
    private HeapSequenceCache[] caches = new HeapSequenceCache[0];
    /** Leading rows that are the only row of their sequence in this step; see {@link #bind}. */
    private int oneTokenRows;

    private int[] lengths = new int[0];
    private float[][] keys = new float[0][];
    private float[][] values = new float[0][];
    /** Products whose result is added rather than stored, and table rows added to a buffer, go through here. */
    private float[] sum = new float[0];

    CpuOps(CpuBackend backend) {
        this.backend = backend;
        this.matrixTypes = backend.matrixTypes();
    }

    String description() {
        return backend.description();
    }

    /**
     * Starts a step. Each row attends to its sequence up to and including its own position. The rows before the first
     * that shares its sequence with another row are decoding sequences' single tokens (the batched model places them
     * first): products may give those rows other kernels than prompt rows, so the count depends only on each row's
     * own sequence, never on how many other sequences share the step.
     */
    void bind(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows) {
        Decoder.checkStep(tokens, positions, caches, logitRows, HeapSequenceCache.class);
        int n = tokens.length;
        if (this.caches.length < n) {
            this.caches = new HeapSequenceCache[n];
            lengths = new int[n];
            keys = new float[n][];
            values = new float[n][];
        }
        var rowsOf = new IdentityHashMap<SequenceCache, Integer>();
        for (int t = 0; t < n; t++) {
            var cache = (HeapSequenceCache) caches[t];
            this.caches[t] = cache;
            lengths[t] = positions[t] + 1;
            rowsOf.merge(cache, 1, Integer::sum);
        }
        // Rows past this step would otherwise keep finished sequences' caches reachable.
        Arrays.fill(this.caches, n, this.caches.length, null);
        Arrays.fill(keys, null);
        Arrays.fill(values, null);
        int single = 0;
        while (single < n && rowsOf.get(caches[single]) == 1) single++;
        this.tokens = tokens;
        this.positions = positions;
        this.logitRows = logitRows;
        this.oneTokenRows = single;
    }

    @Override
    public Set<GGMLType> matrixTypes() {
        return matrixTypes;
    }

    @Override
    public Set<GGMLType> tableTypes() {
        return Dequantize.types();
    }

    @Override
    public void embed(GGUFTensor table, RowInput input, float[] out, int n, boolean accumulate) {
        int[] ids = input == RowInput.TOKENS ? tokens : positions;
        if (!accumulate) {
            backend.embed(table, ids, out);
            return;
        }
        int count = n * (int) table.dim(0);
        float[] rows = sum(count);
        backend.embed(table, ids, rows);
        backend.add(out, rows, count);
    }

    @Override
    public void layerNorm(
            float[] x, boolean logitRowsOnly, float[] out, float[] weight, float[] bias, int n, int dim, float eps) {
        copyRows(x, logitRowsOnly, out, n, dim);
        backend.layerNorm(out, n, dim, weight, bias, eps);
    }

    @Override
    public void rmsNorm(float[] x, boolean logitRowsOnly, float[] out, float[] weight, int n, int dim, float eps) {
        copyRows(x, logitRowsOnly, out, n, dim);
        backend.rmsNorm(out, n, dim, weight, eps);
    }

    private void copyRows(float[] x, boolean logitRowsOnly, float[] out, int n, int dim) {
        if (!logitRowsOnly) {
            System.arraycopy(x, 0, out, 0, n * dim);
            return;
        }
        for (int i = 0; i < n; i++) System.arraycopy(x, logitRows[i] * dim, out, i * dim, dim);
    }

    @Override
    public void matmul(GGUFTensor w, float[] x, float[] out, float[] bias, int n, Epilogue epilogue) {
        int count = n * (int) w.dim(1);
        float[] product = epilogue == Epilogue.ADD ? sum(count) : out;
        backend.matmul(w, x, product, n, oneTokenRows);
        if (bias != null) backend.addBias(product, n, bias);
        switch (epilogue) {
            case STORE -> {}
            case ADD -> backend.add(out, product, count);
            case GELU -> backend.gelu(out, count);
        }
    }

    @Override
    public void logits(GGUFTensor head, float[] x, float[] out, int m) {
        backend.matmul(head, x, out, m, m);
    }

    @Override
    public void rope(float[] x, int n, int width, int heads, int headDim, float freqBase, boolean neox) {
        backend.rope(x, n, width, 0, heads, headDim, positions, freqBase, neox);
    }

    @Override
    public void kvStore(
            float[] k, int kOffset, int kStride, float[] v, int vOffset, int vStride, int n, int layer, int kvWidth) {
        for (int t = 0; t < n; t++) {
            HeapSequenceCache cache = caches[t];
            System.arraycopy(k, t * kStride + kOffset, cache.keys[layer], positions[t] * kvWidth, kvWidth);
            System.arraycopy(v, t * vStride + vOffset, cache.values[layer], positions[t] * kvWidth, kvWidth);
        }
    }

    @Override
    public void attention(float[] q, int qOffset, int qStride, int n, int layer, AttentionHeads shape, float[] out) {
        for (int t = 0; t < n; t++) {
            keys[t] = caches[t].keys[layer];
            values[t] = caches[t].values[layer];
        }
        backend.attention(
                q,
                qStride,
                qOffset,
                n,
                keys,
                values,
                lengths,
                shape.heads(),
                shape.kvHeads(),
                shape.headDim(),
                shape.scale(),
                out);
    }

    @Override
    public void swiglu(float[] gate, float[] up, int count) {
        backend.swiglu(gate, up, count);
    }

    private float[] sum(int count) {
        if (sum.length < count) sum = new float[Math.max(count, sum.length + sum.length / 2)];
        return sum;
    }

    void close() {
        backend.close();
    }
}
