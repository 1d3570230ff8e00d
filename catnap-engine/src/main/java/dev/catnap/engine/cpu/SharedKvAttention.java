package dev.catnap.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Attention for query heads that share one key/value head (multi-query attention, as in StarCoder: 16 query heads,
 * one K/V head), one query head per vector lane. Each key and value element is loaded once and broadcast to all the
 * heads that read it, scores take no lane sums, the softmax runs on vectors (its exponential included), and the
 * output sums stay in registers over all keys. The per-head form ({@code CpuBackend.attendOne}) loads every key once
 * per head, ends each score with a sum across lanes, calls {@code Math.exp} once per score, and loads and stores its
 * output once per key: 11-12 % of a 512-token prompt's time on StarCoder-1B, growing with the prompt.
 *
 * <p>Keys are taken in chunks of {@link #CHUNK}, each chunk's softmax and weighted values on their own ({@link
 * #chunk}: its largest score, the sum of its exponentials, and the values weighted by them), then the chunks merged in
 * order ({@link #merge}), as flash-decoding does: the chunks of one row run on all threads, so a single decoding
 * sequence with a long context is not left to one thread. The chunks are fixed by key position, so a row's result
 * depends only on its own query and the keys and values it attends to, never on the batch or the thread count.
 *
 * <p>Numbers: each lane computes its head's scores as a chain of FMAs over the head dimension (the per-head form sums
 * 16 partial sums), a polynomial exponential on vectors ({@link #exp}) instead of {@code Math.exp}, float rather
 * than double sums of the exponentials, and divides by the sum at the end; so the two forms agree to float rounding,
 * not bit for bit.
 */
final class SharedKvAttention {
    private static final VectorSpecies<Float> F = MatMul.F;
    /** Query heads computed together: one per lane. */
    static final int HEADS = F.length();
    /** Keys per chunk. */
    static final int CHUNK = 128;
    /** Keys scored at once, and output elements summed at once: eight independent chains of FMAs. */
    private static final int CHAINS = 8;

    private SharedKvAttention() {}

    /**
     * Whether query heads share their K/V heads in groups of at least {@link #HEADS} (a group past a multiple of
     * {@link #HEADS} leaves the lanes of its last set partly idle). Smaller groups keep the per-head form: forced onto
     * the 4-head tiny StarCoder, this form agreed with llama.cpp's greedy completions in 46 of 60 prompts against 49
     * for the per-head form, and moved one fixture's logits 1.3e-3 from llama.cpp's (a rounded Q8_0 activation
     * flipped), though both forms are within 2e-5 of a double-precision reference.
     */
    static boolean applies(int heads, int kvHeads) {
        return heads / kvHeads >= HEADS;
    }

    /** Sets of at most {@link #HEADS} query heads that one K/V head of a group of {@code group} serves. */
    static int setsPerKvHead(int group) {
        return (group + HEADS - 1) / HEADS;
    }

    /**
     * The first query head of set {@code set} of a row's sets, numbered K/V head by K/V head ({@link #setsPerKvHead}
     * of them each); its K/V head is this head divided by {@code group}.
     */
    static int firstHead(int set, int group) {
        int perKv = setsPerKvHead(group);
        return set / perKv * group + set % perKv * HEADS;
    }

    /** The query heads in set {@code set}: {@link #HEADS}, or fewer in the last set of a K/V head. */
    static int width(int set, int group) {
        int first = firstHead(set, group);
        return Math.min(HEADS, (first / group + 1) * group - first);
    }

    static int chunks(int len) {
        return (len + CHUNK - 1) / CHUNK;
    }

    /** Floats of one chunk's result: its largest scores, its sums, and its weighted values (a vector each). */
    static int partialFloats(int headDim) {
        return (headDim + 2) * HEADS;
    }

    /** Floats of scratch {@link #chunk} needs: the transposed queries and a chunk's scores. */
    static int scratchFloats(int headDim) {
        return (headDim + CHUNK) * HEADS;
    }

    /**
     * Keys [from, to) (at most {@link #CHUNK}) for query heads h0 .. h0+width-1 (width at most {@link #HEADS}; the
     * lanes past it compute nothing of use) of one row, all reading the
     * K/V head at column {@code kvo} of the rows of {@code k} and {@code v} (width {@code kvWidth}); the query of head
     * h0+m is at {@code q[qo + m * headDim ..]}. The chunk's result goes to {@code partials[po ..]} ({@link
     * #partialFloats}). {@code scratch}: at least {@link #scratchFloats} floats, private to the calling thread.
     */
    static void chunk(
            float[] q,
            int qo,
            int width,
            float[] k,
            float[] v,
            int from,
            int to,
            int kvo,
            int kvWidth,
            int headDim,
            float scale,
            float[] partials,
            int po,
            float[] scratch) {
        for (int m = 0; m < HEADS; m++) {
            for (int i = 0; i < headDim; i++) scratch[i * HEADS + m] = m < width ? q[qo + m * headDim + i] : 0f;
        }
        FloatVector max = score(scratch, k, from, to, kvo, kvWidth, headDim, scale);
        int scores = headDim * HEADS;
        FloatVector total = FloatVector.zero(F);
        for (int j = 0; j < to - from; j++) {
            int o = scores + j * HEADS;
            FloatVector e = exp(FloatVector.fromArray(F, scratch, o).sub(max));
            e.intoArray(scratch, o);
            total = total.add(e);
        }
        max.intoArray(partials, po);
        total.intoArray(partials, po + HEADS);
        weigh(scratch, v, from, to, kvo, kvWidth, headDim, partials, po + 2 * HEADS);
    }

    /**
     * The {@code count} chunk results at {@code partials[po ..]}, in key order, merged into the heads' outputs: head
     * h0+m (m below {@code width}) at {@code out[oo + m * headDim ..]}. Each chunk's weight (e to the power of its
     * largest score less the overall largest) is computed once and applied to all its sums. {@code scratch}: at least
     * {@code headDim * HEADS} floats, the thread's own.
     */
    static void merge(
            float[] partials, int po, int count, int headDim, int width, float[] out, int oo, float[] scratch) {
        int size = partialFloats(headDim);
        FloatVector max = FloatVector.fromArray(F, partials, po);
        for (int c = 1; c < count; c++) max = max.max(FloatVector.fromArray(F, partials, po + c * size));
        java.util.Arrays.fill(scratch, 0, headDim * HEADS, 0f);
        FloatVector total = FloatVector.zero(F);
        for (int c = 0; c < count; c++) {
            int o = po + c * size;
            FloatVector w = exp(FloatVector.fromArray(F, partials, o).sub(max));
            total = FloatVector.fromArray(F, partials, o + HEADS).fma(w, total);
            for (int i = 0; i < headDim; i++) {
                FloatVector.fromArray(F, partials, o + (2 + i) * HEADS)
                        .fma(w, FloatVector.fromArray(F, scratch, i * HEADS))
                        .intoArray(scratch, i * HEADS);
            }
        }
        FloatVector inv = FloatVector.broadcast(F, 1f).div(total);
        for (int i = 0; i < headDim; i++) {
            FloatVector.fromArray(F, scratch, i * HEADS).mul(inv).intoArray(scratch, i * HEADS);
            for (int m = 0; m < width; m++) out[oo + m * headDim + i] = scratch[i * HEADS + m];
        }
    }

    private static final float LOG2E = 1.44269504f;
    /** ln 2 in two parts, the first with few enough bits that n times it is exact for the n used here. */
    private static final float LN2_HIGH = 0.693359375f;

    private static final float LN2_LOW = -2.12194440e-4f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude below 2^22 to an integer. */
    private static final float ROUNDER = 12582912f;

    /**
     * e^x for x at most 0 (a score less the largest), to about one unit in the last place: x = n ln 2 + r with |r| at
     * most ln 2 / 2, a degree-6 polynomial for e^r, and 2^n put into the exponent. Only additions, multiplications
     * and FMAs, so the result is the same bits whether C2, C1 or the interpreter runs it ({@code
     * VectorOperators.EXP} is the library's exponential when compiled and {@code Math.exp} per lane when not). Below
     * -87 the result is that of -87, about 1.6e-38: nothing next to the largest term's 1.
     */
    private static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-87f);
        FloatVector t = c.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HIGH), c);
        r = n.fma(FloatVector.broadcast(F, -LN2_LOW), r);
        FloatVector p = r.fma(1.3888889e-3f, 8.3333333e-3f);
        p = p.fma(r, FloatVector.broadcast(F, 4.1666668e-2f));
        p = p.fma(r, FloatVector.broadcast(F, 1.6666667e-1f));
        p = p.fma(r, FloatVector.broadcast(F, 0.5f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        IntVector bits = t.reinterpretAsInts().sub(0x4B400000).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }

    /**
     * The scaled scores of keys [from, to) into the scratch's scores (key from+j's lanes at {@code (headDim + j) *
     * HEADS}), from the transposed queries at its start; returns each lane's largest.
     */
    private static FloatVector score(
            float[] s, float[] k, int from, int to, int kvo, int kvWidth, int headDim, float scale) {
        int scores = headDim * HEADS - from * HEADS;
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = from;
        for (; j + CHAINS <= to; j += CHAINS) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            int k0 = j * kvWidth + kvo;
            for (int i = 0; i < headDim; i++) {
                FloatVector qi = FloatVector.fromArray(F, s, i * HEADS);
                int ki = k0 + i;
                a0 = qi.fma(FloatVector.broadcast(F, k[ki]), a0);
                a1 = qi.fma(FloatVector.broadcast(F, k[ki + kvWidth]), a1);
                a2 = qi.fma(FloatVector.broadcast(F, k[ki + 2 * kvWidth]), a2);
                a3 = qi.fma(FloatVector.broadcast(F, k[ki + 3 * kvWidth]), a3);
                a4 = qi.fma(FloatVector.broadcast(F, k[ki + 4 * kvWidth]), a4);
                a5 = qi.fma(FloatVector.broadcast(F, k[ki + 5 * kvWidth]), a5);
                a6 = qi.fma(FloatVector.broadcast(F, k[ki + 6 * kvWidth]), a6);
                a7 = qi.fma(FloatVector.broadcast(F, k[ki + 7 * kvWidth]), a7);
            }
            int o = scores + j * HEADS;
            a0 = a0.mul(scale);
            a1 = a1.mul(scale);
            a2 = a2.mul(scale);
            a3 = a3.mul(scale);
            a4 = a4.mul(scale);
            a5 = a5.mul(scale);
            a6 = a6.mul(scale);
            a7 = a7.mul(scale);
            a0.intoArray(s, o);
            a1.intoArray(s, o + HEADS);
            a2.intoArray(s, o + 2 * HEADS);
            a3.intoArray(s, o + 3 * HEADS);
            a4.intoArray(s, o + 4 * HEADS);
            a5.intoArray(s, o + 5 * HEADS);
            a6.intoArray(s, o + 6 * HEADS);
            a7.intoArray(s, o + 7 * HEADS);
            max = max.max(a0.max(a1).max(a2.max(a3))).max(a4.max(a5).max(a6.max(a7)));
        }
        for (; j < to; j++) {
            FloatVector a = FloatVector.zero(F);
            int kj = j * kvWidth + kvo;
            for (int i = 0; i < headDim; i++) {
                a = FloatVector.fromArray(F, s, i * HEADS).fma(FloatVector.broadcast(F, k[kj + i]), a);
            }
            a = a.mul(scale);
            a.intoArray(s, scores + j * HEADS);
            max = max.max(a);
        }
        return max;
    }

    /**
     * Output element i of every head over keys [from, to): the sum of each key's weight (the scratch's scores, now
     * exponentials) times its value element i, in key order, into {@code into[io + i * HEADS ..]}.
     */
    private static void weigh(
            float[] s, float[] v, int from, int to, int kvo, int kvWidth, int headDim, float[] into, int io) {
        int scores = headDim * HEADS - from * HEADS;
        int i = 0;
        for (; i + CHAINS <= headDim; i += CHAINS) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int j = from; j < to; j++) {
                FloatVector p = FloatVector.fromArray(F, s, scores + j * HEADS);
                int vi = j * kvWidth + kvo + i;
                a0 = p.fma(FloatVector.broadcast(F, v[vi]), a0);
                a1 = p.fma(FloatVector.broadcast(F, v[vi + 1]), a1);
                a2 = p.fma(FloatVector.broadcast(F, v[vi + 2]), a2);
                a3 = p.fma(FloatVector.broadcast(F, v[vi + 3]), a3);
                a4 = p.fma(FloatVector.broadcast(F, v[vi + 4]), a4);
                a5 = p.fma(FloatVector.broadcast(F, v[vi + 5]), a5);
                a6 = p.fma(FloatVector.broadcast(F, v[vi + 6]), a6);
                a7 = p.fma(FloatVector.broadcast(F, v[vi + 7]), a7);
            }
            int o = io + i * HEADS;
            a0.intoArray(into, o);
            a1.intoArray(into, o + HEADS);
            a2.intoArray(into, o + 2 * HEADS);
            a3.intoArray(into, o + 3 * HEADS);
            a4.intoArray(into, o + 4 * HEADS);
            a5.intoArray(into, o + 5 * HEADS);
            a6.intoArray(into, o + 6 * HEADS);
            a7.intoArray(into, o + 7 * HEADS);
        }
        for (; i < headDim; i++) {
            FloatVector a = FloatVector.zero(F);
            for (int j = from; j < to; j++) {
                a = FloatVector.fromArray(F, s, scores + j * HEADS)
                        .fma(FloatVector.broadcast(F, v[j * kvWidth + kvo + i]), a);
            }
            a.intoArray(into, io + i * HEADS);
        }
    }
}
