package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.EnumMap;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight-times-activations kernels, reading the weights straight from the mapped file.
 *
 * <p>One token (decoding a single sequence) uses a direct kernel per type: each 32-value block is loaded, widened
 * to floats in registers, scaled, and multiplied into the accumulator. Several decoding tokens (batched decoding)
 * first widen and scale one weight row into a small per-thread buffer, then run every token against it four at a
 * time: the widening is paid once per row instead of once per token, and the inner loop is one load and one FMA per
 * token and vector. For F32, F16 and BF16 weights and the k-quants, both paths compute the same weight values and the
 * same FMAs in the same order, so a decoding token's result does not depend on which tokens share its batch; for
 * Q8_0 and Q4_0 see {@link QuantizedDot}. The rows of prompts take {@link PromptTiles}, whose sums are their own
 * and agree with these to float rounding.
 *
 * <p>BF16 and the k-quants (Q4_K, Q5_K, Q6_K) follow the same two paths; their kernels are in {@link KQuants}.
 * Their activations stay float32 (ggml rounds them to Q8_K), so their logits agree with llama.cpp's to about 1e-2.
 * Q8_0 and Q4_0 weights take activations rounded to Q8_0, as ggml does; their kernels are in {@link QuantizedDot}.
 */
final class MatMul {
    /** 512-bit vectors where the CPU has them (16 lanes: half a block), else 256 bits (8 lanes). */
    static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.length() >= 16 ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;

    private static final int L = F.length();
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private MatMul() {}

    /** How row {@code r} of a weight type becomes {@code cols} floats for the float tiles. */
    @FunctionalInterface
    private interface RowWidener {
        void widen(MemorySegment w, int cols, RowGroups.Layout layout, int r, float[] row);
    }

    /**
     * The CPU's one table of weight types: a type is a product type exactly when it has a row widener here (Q8_0 and
     * Q4_0 also have {@link QuantizedDot}'s integer kernels for decoding rows). Byte offsets come from the type's
     * block size.
     */
    private static final Map<GGMLType, RowWidener> WIDENERS = new EnumMap<>(Map.of(
            GGMLType.Q8_0, (w, cols, layout, r, row) -> QuantizedDot.widenRow(GGMLType.Q8_0, w, cols, layout, r, row),
            GGMLType.Q4_0, (w, cols, layout, r, row) -> QuantizedDot.widenRow(GGMLType.Q4_0, w, cols, layout, r, row),
            GGMLType.F16, MatMul::f16Row,
            GGMLType.F32, (w, cols, layout, r, row) -> MemorySegment.copy(w, F32, layout.rowStart(r), row, 0, cols),
            GGMLType.BF16, (w, cols, layout, r, row) -> KQuants.bf16Row(w, layout.rowStart(r), cols, row),
            GGMLType.Q4_K, (w, cols, layout, r, row) -> KQuants.q4kRow(w, layout.rowStart(r), cols / 256, row),
            GGMLType.Q5_K, (w, cols, layout, r, row) -> KQuants.q5kRow(w, layout.rowStart(r), cols / 256, row),
            GGMLType.Q6_K, (w, cols, layout, r, row) -> KQuants.q6kRow(w, layout.rowStart(r), cols / 256, row)));

    static boolean supports(GGMLType type) {
        return WIDENERS.containsKey(type);
    }

    /**
     * out[t * rows + r] for r in [r0, r1), t in [0, n). Quantized types need whole blocks per row (cols % 32 == 0,
     * cols % 256 == 0 for the k-quants). Tokens [0, oneTokenRows) are single tokens of their sequences: for Q8_0 and
     * Q4_0 they take {@link QuantizedDot}'s integer kernels (without {@code quantized}, float32 activations, the
     * float tiles), the others the float tiles or a type's one-token kernel. The other tokens are rows of prompts,
     * {@link PromptTiles}' work, from {@code prompt}: those rows of {@code x}, or of the rounded activations,
     * transposed. {@code scratch}: {@link #SCRATCH} arrays of {@link #scratchFloats}
     * floats each, private to the calling thread. {@code w} is in {@code layout} ({@link
     * RowGroups.Layout#of} for this type and shape).
     */
    static void rows(
            GGMLType type,
            MemorySegment w,
            int cols,
            int rows,
            RowGroups.Layout layout,
            int r0,
            int r1,
            float[] x,
            int n,
            int oneTokenRows,
            float[] out,
            float[][] scratch,
            Q8Activations quantized,
            PromptTiles.Transposed prompt) {
        if (oneTokenRows > 0) {
            if (QuantizedDot.handles(type) && quantized != null) {
                QuantizedDot.rows(type, w, cols, layout, r0, r1, quantized, oneTokenRows, out, rows, scratch);
            } else {
                oneTokenRows(type, w, cols, rows, layout, r0, r1, x, oneTokenRows, out, scratch);
            }
        }
        if (oneTokenRows < n) {
            PromptTiles.rows(type, w, cols, layout, r0, r1, prompt, out, rows, scratch);
        }
    }

    /** Per-thread scratch arrays {@link #rows} needs. */
    static final int SCRATCH = PromptTiles.FIRST_SCRATCH + PromptTiles.SCRATCH;

    /**
     * Floats scratch array {@code index} needs for rows of {@code cols}: at least 256 for the one-token tiles (the
     * sixteen 16-lane sums of {@link #finish}), then what {@link PromptTiles} asks for its own.
     */
    static int scratchFloats(int index, int cols) {
        int first = PromptTiles.FIRST_SCRATCH;
        return index < first ? Math.max(cols, 256) : PromptTiles.scratchFloats(index - first, cols);
    }

    /** The single tokens [0, n) of their sequences, for weights without integer kernels. */
    private static void oneTokenRows(
            GGMLType type,
            MemorySegment w,
            int cols,
            int rows,
            RowGroups.Layout layout,
            int r0,
            int r1,
            float[] x,
            int n,
            float[] out,
            float[][] scratch) {
        if (n == 1 && type == GGMLType.F16) {
            int r = r0;
            for (float[] lanes = scratch[6]; layout.groupAt(r) && r + RowGroups.ROWS <= r1; r += RowGroups.ROWS) {
                if (layout.finiteHalves()) f16FiniteGroup(w, layout.rowStart(r), cols, x, lanes);
                else f16Group(w, layout.rowStart(r), cols, x, lanes);
                for (int i = 0; i < RowGroups.ROWS; i++) out[r + i] = sum(lanes, i * L);
            }
            for (; r < r1; r++) {
                f16Row(w, cols, layout, r, scratch[0]);
                out[r] = dot(scratch[0], cols, x, 0);
            }
            return;
        }
        if (n == 1 && type == GGMLType.BF16) {
            for (int r = r0; r < r1; r++) out[r] = KQuants.bf16Dot(w, r * (long) cols * 2, cols, x, 0);
            return;
        }
        if (n == 1 && type == GGMLType.Q4_K) {
            for (int r = r0; r < r1; r++)
                out[r] = KQuants.q4kDot(w, r * (cols / 256L) * KQuants.Q4K_BYTES, cols / 256, x, 0);
            return;
        }
        if (n == 1 && type == GGMLType.Q5_K) {
            for (int r = r0; r < r1; r++)
                out[r] = KQuants.q5kDot(w, r * (cols / 256L) * KQuants.Q5K_BYTES, cols / 256, x, 0);
            return;
        }
        if (n == 1 && type == GGMLType.Q6_K) {
            for (int r = r0; r < r1; r++)
                out[r] = KQuants.q6kDot(w, r * (cols / 256L) * KQuants.Q6K_BYTES, cols / 256, x, 0);
            return;
        }
        // Four (or two) rows at a time: each activation vector loaded feeds four FMAs, each weight vector four.
        float[] row = scratch[0];
        float[] next = scratch[1];
        float[] lanes = scratch[6];
        int r = r0;
        if (n >= 4) {
            float[] third = scratch[2];
            float[] fourth = scratch[3];
            for (; r + 4 <= r1; r += 4) {
                widenRows(type, w, cols, layout, r, 4, scratch, 0);
                int t = 0;
                for (; t + 4 <= n; t += 4) {
                    dot4x4(row, next, third, fourth, cols, x, t * cols, out, t * rows + r, rows, lanes);
                }
                for (; t + 2 <= n; t += 2)
                    dot4x2(row, next, third, fourth, cols, x, t * cols, out, t * rows + r, rows, lanes);
                for (; t < n; t++) {
                    out[t * rows + r] = dot(row, cols, x, t * cols);
                    out[t * rows + r + 1] = dot(next, cols, x, t * cols);
                    out[t * rows + r + 2] = dot(third, cols, x, t * cols);
                    out[t * rows + r + 3] = dot(fourth, cols, x, t * cols);
                }
            }
        }
        for (; r + 2 <= r1; r += 2) {
            widenRow(type, w, cols, layout, r, row);
            widenRow(type, w, cols, layout, r + 1, next);
            int t = 0;
            for (; t + 4 <= n; t += 4) dot2x4(row, next, cols, x, t * cols, out, t * rows + r, rows, lanes);
            for (; t + 2 <= n; t += 2) dot2x2(row, next, cols, x, t * cols, out, t * rows + r, rows, lanes);
            for (; t < n; t++) {
                out[t * rows + r] = dot(row, cols, x, t * cols);
                out[t * rows + r + 1] = dot(next, cols, x, t * cols);
            }
        }
        for (; r < r1; r++) {
            widenRow(type, w, cols, layout, r, row);
            for (int t = 0; t < n; t++) out[t * rows + r] = dot(row, cols, x, t * cols);
        }
    }

    /**
     * Rows r..r+count-1 widened into into[from + i], a group of four in one pass where the layout has them.
     */
    static void widenRows(
            GGMLType type,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r,
            int count,
            float[][] into,
            int from) {
        int i = 0;
        while (i < count) {
            if (i + RowGroups.ROWS <= count && layout.kind() == RowGroups.Kind.UNITS && layout.groupAt(r + i)) {
                int o = from + i;
                widenGroup(type, w, cols, layout, r + i, into[o], into[o + 1], into[o + 2], into[o + 3]);
                i += RowGroups.ROWS;
            } else {
                widenRow(type, w, cols, layout, r + i, into[from + i]);
                i++;
            }
        }
    }

    /** The four rows of the group ({@link RowGroups}) of Q8_0 or F16 weights at {@code base}, in one pass over it. */
    private static void widenGroup(
            GGMLType type,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r,
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3) {
        long off = layout.rowStart(r);
        if (type == GGMLType.Q8_0) {
            QuantizedDot.widenQ8Group(w, off, cols / 32, w0, w1, w2, w3);
            return;
        }
        boolean finite = layout.finiteHalves();
        for (int c = 0; c < cols; c += 16, off += RowGroups.ROWS * 32) {
            halvesToFloats(w, off, finite, w0, c);
            halvesToFloats(w, off + 32, finite, w1, c);
            halvesToFloats(w, off + 64, finite, w2, c);
            halvesToFloats(w, off + 96, finite, w3, c);
        }
    }

    private static void widenRow(
            GGMLType type, MemorySegment w, int cols, RowGroups.Layout layout, int r, float[] row) {
        RowWidener widener = WIDENERS.get(type);
        if (widener == null) throw new IllegalArgumentException("no matmul kernel for weight type " + type);
        widener.widen(w, cols, layout, r, row);
    }

    // ---- F16 and F32: the row widened to floats, plain dot products; a tail shorter than a vector is scalar ----

    /**
     * Row {@code r} of halves widened to floats, exactly: from {@link RowGroups}' layout 16 halves at a time with
     * the arithmetic described at {@link #HALVES}, else with a plain loop over {@code Float.float16ToFloat}, which
     * C2 compiles to the CPU's half-to-float conversion (vcvtph2ps), four lanes wide.
     */
    private static void f16Row(MemorySegment w, int cols, RowGroups.Layout layout, int r, float[] row) {
        long base = layout.rowStart(r);
        if (layout.grouped()) {
            long step = layout.unitStep(r);
            boolean finite = layout.finiteHalves();
            for (int i = 0; i < cols; i += 16, base += step) halvesToFloats(w, base, finite, row, i);
            return;
        }
        for (int i = 0; i < cols; i++) row[i] = Float.float16ToFloat(w.get(I16, base + 2L * i));
    }

    /**
     * The four rows of a group of F16 weights ({@link RowGroups}) starting at {@code base} against one token: row
     * i's lanes into {@code lanes[16i .. 16i+16)}, the FMAs of {@link #dot} over the widened row, in its order, with
     * the halves turned into floats in registers, 16 at a time (see {@link #HALVES}). The conversion is written out
     * four times: C2 reaches this method's node budget before it would inline a helper, and a vector handed back by
     * a call that is not inlined is boxed (12 MB per 2048x4096 product when it was a helper).
     */
    private static void f16Group(MemorySegment w, long base, int cols, float[] x, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long off = base;
        for (int i = 0; i < cols; i += 16, off += RowGroups.ROWS * 32) {
            FloatVector y = FloatVector.fromArray(F, x, i);
            IntVector h, em, bits, f;
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off, LE).convertShape(VectorOperators.S2I, INTS, 0);
            em = h.and(0x7fff);
            bits = em.lanewise(VectorOperators.LSHL, 13);
            f = ((FloatVector) bits.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
            f = f.blend(bits.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00));
            a0 = ((FloatVector) f.or(h.and(0x80000000)).reinterpretAsFloats()).fma(y, a0);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 32, LE).convertShape(VectorOperators.S2I, INTS, 0);
            em = h.and(0x7fff);
            bits = em.lanewise(VectorOperators.LSHL, 13);
            f = ((FloatVector) bits.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
            f = f.blend(bits.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00));
            a1 = ((FloatVector) f.or(h.and(0x80000000)).reinterpretAsFloats()).fma(y, a1);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 64, LE).convertShape(VectorOperators.S2I, INTS, 0);
            em = h.and(0x7fff);
            bits = em.lanewise(VectorOperators.LSHL, 13);
            f = ((FloatVector) bits.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
            f = f.blend(bits.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00));
            a2 = ((FloatVector) f.or(h.and(0x80000000)).reinterpretAsFloats()).fma(y, a2);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 96, LE).convertShape(VectorOperators.S2I, INTS, 0);
            em = h.and(0x7fff);
            bits = em.lanewise(VectorOperators.LSHL, 13);
            f = ((FloatVector) bits.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
            f = f.blend(bits.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00));
            a3 = ((FloatVector) f.or(h.and(0x80000000)).reinterpretAsFloats()).fma(y, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 16);
        a2.intoArray(lanes, 32);
        a3.intoArray(lanes, 48);
    }

    /**
     * {@link #f16Group} for halves known to be finite ({@link RowGroups#finiteHalves}): the same floats in three
     * operations per 16 halves instead of eight. A half sign-extended to 32 bits and shifted left by 13 has its sign in
     * bit 31, copies of it in bits 28-30 and its exponent and mantissa below; clearing bits 28-30 leaves a float 2^112
     * times too small, as in {@link #HALVES}. Prompts over F16 weights widen every row this way and ran 5-20 % faster.
     */
    private static void f16FiniteGroup(MemorySegment w, long base, int cols, float[] x, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        long off = base;
        for (int i = 0; i < cols; i += 16, off += RowGroups.ROWS * 32) {
            FloatVector y = FloatVector.fromArray(F, x, i);
            IntVector h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off, LE).convertShape(VectorOperators.S2I, INTS, 0);
            a0 = ((FloatVector) h.lanewise(VectorOperators.LSHL, 13)
                            .and(FINITE_BITS)
                            .reinterpretAsFloats())
                    .mul(0x1p112f)
                    .fma(y, a0);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 32, LE).convertShape(VectorOperators.S2I, INTS, 0);
            a1 = ((FloatVector) h.lanewise(VectorOperators.LSHL, 13)
                            .and(FINITE_BITS)
                            .reinterpretAsFloats())
                    .mul(0x1p112f)
                    .fma(y, a1);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 64, LE).convertShape(VectorOperators.S2I, INTS, 0);
            a2 = ((FloatVector) h.lanewise(VectorOperators.LSHL, 13)
                            .and(FINITE_BITS)
                            .reinterpretAsFloats())
                    .mul(0x1p112f)
                    .fma(y, a2);
            h = (IntVector)
                    ShortVector.fromMemorySegment(HALVES, w, off + 96, LE).convertShape(VectorOperators.S2I, INTS, 0);
            a3 = ((FloatVector) h.lanewise(VectorOperators.LSHL, 13)
                            .and(FINITE_BITS)
                            .reinterpretAsFloats())
                    .mul(0x1p112f)
                    .fma(y, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 16);
        a2.intoArray(lanes, 32);
        a3.intoArray(lanes, 48);
    }

    /**
     * A finite half sign-extended to an int and shifted left by 13, with this mask, is a float 2^112 times too small
     * (see {@link #f16FiniteGroup}); also the Q4_0 scales' conversion ({@link QuantizedDot#q4PairScales}).
     */
    static final int FINITE_BITS = 0x8FFFFFFF;

    /**
     * The 16 halves at {@code off} as floats into {@code row[o .. o+16)} (see {@link #HALVES}), in three operations
     * where they are known {@code finite}; its vectors stay inside.
     */
    static void halvesToFloats(MemorySegment w, long off, boolean finite, float[] row, int o) {
        IntVector h = (IntVector)
                ShortVector.fromMemorySegment(HALVES, w, off, LE).convertShape(VectorOperators.S2I, INTS, 0);
        if (finite) {
            ((FloatVector) h.lanewise(VectorOperators.LSHL, 13).and(FINITE_BITS).reinterpretAsFloats())
                    .mul(0x1p112f)
                    .intoArray(row, o);
            return;
        }
        IntVector em = h.and(0x7fff);
        IntVector bits = em.lanewise(VectorOperators.LSHL, 13);
        IntVector f = ((FloatVector) bits.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
        f = f.blend(bits.or(0x7f800000), em.compare(VectorOperators.GE, 0x7c00));
        f.or(h.and(0x80000000)).reinterpretAsFloats().intoArray(row, o);
    }

    /**
     * 16 halves, which {@link #f16Group} and {@link #halvesToFloats} turn into floats exactly with integer arithmetic (the
     * Vector API has no half-to-float conversion): the half's exponent and mantissa shifted into a float's place
     * read as a float 2^112 times too small (subnormal halves included, as float subnormals), which one
     * multiplication repairs; infinities and NaNs keep their mantissa under the float's all-ones exponent; the sign
     * is put back last.
     */
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_256;

    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static float dot(float[] row, int cols, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) acc = FloatVector.fromArray(F, row, i).fma(FloatVector.fromArray(F, x, xo + i), acc);
        float s = sum(acc);
        for (; i < cols; i++) s += row[i] * x[xo + i];
        return s;
    }

    /** Rows r and r+1 against tokens t..t+3: out[(t+j) * stride + r (+1)]. Per token and row, the same FMAs as dot. */
    private static void dot2x4(
            float[] row, float[] next, int cols, float[] x, int xo, float[] out, int oo, int stride, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int x1 = xo + cols, x2 = xo + 2 * cols, x3 = xo + 3 * cols;
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector w = FloatVector.fromArray(F, row, i);
            FloatVector v = FloatVector.fromArray(F, next, i);
            FloatVector y = FloatVector.fromArray(F, x, xo + i);
            a0 = w.fma(y, a0);
            b0 = v.fma(y, b0);
            y = FloatVector.fromArray(F, x, x1 + i);
            a1 = w.fma(y, a1);
            b1 = v.fma(y, b1);
            y = FloatVector.fromArray(F, x, x2 + i);
            a2 = w.fma(y, a2);
            b2 = v.fma(y, b2);
            y = FloatVector.fromArray(F, x, x3 + i);
            a3 = w.fma(y, a3);
            b3 = v.fma(y, b3);
        }
        a0.intoArray(lanes, 0 * L);
        a1.intoArray(lanes, 1 * L);
        a2.intoArray(lanes, 2 * L);
        a3.intoArray(lanes, 3 * L);
        b0.intoArray(lanes, 4 * L);
        b1.intoArray(lanes, 5 * L);
        b2.intoArray(lanes, 6 * L);
        b3.intoArray(lanes, 7 * L);
        finish(lanes, 2, 4, row, next, null, null, cols, i, x, xo, out, oo, stride);
    }

    /** Rows r and r+1 against tokens t and t+1, the same FMAs as dot. */
    private static void dot2x2(
            float[] row, float[] next, int cols, float[] x, int xo, float[] out, int oo, int stride, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        int x1 = xo + cols;
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector w = FloatVector.fromArray(F, row, i);
            FloatVector v = FloatVector.fromArray(F, next, i);
            FloatVector y = FloatVector.fromArray(F, x, xo + i);
            a0 = w.fma(y, a0);
            b0 = v.fma(y, b0);
            y = FloatVector.fromArray(F, x, x1 + i);
            a1 = w.fma(y, a1);
            b1 = v.fma(y, b1);
        }
        a0.intoArray(lanes, 0 * L);
        a1.intoArray(lanes, 1 * L);
        b0.intoArray(lanes, 2 * L);
        b1.intoArray(lanes, 3 * L);
        finish(lanes, 2, 2, row, next, null, null, cols, i, x, xo, out, oo, stride);
    }

    /** Rows r..r+3 against tokens t..t+3, the same FMAs per token and row as dot. */
    private static void dot4x4(
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            int cols,
            float[] x,
            int xo,
            float[] out,
            int oo,
            int stride,
            float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = xo + cols, x2 = xo + 2 * cols, x3 = xo + 3 * cols;
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, w0, i);
            FloatVector v1 = FloatVector.fromArray(F, w1, i);
            FloatVector v2 = FloatVector.fromArray(F, w2, i);
            FloatVector v3 = FloatVector.fromArray(F, w3, i);
            FloatVector y = FloatVector.fromArray(F, x, xo + i);
            a00 = v0.fma(y, a00);
            a10 = v1.fma(y, a10);
            a20 = v2.fma(y, a20);
            a30 = v3.fma(y, a30);
            y = FloatVector.fromArray(F, x, x1 + i);
            a01 = v0.fma(y, a01);
            a11 = v1.fma(y, a11);
            a21 = v2.fma(y, a21);
            a31 = v3.fma(y, a31);
            y = FloatVector.fromArray(F, x, x2 + i);
            a02 = v0.fma(y, a02);
            a12 = v1.fma(y, a12);
            a22 = v2.fma(y, a22);
            a32 = v3.fma(y, a32);
            y = FloatVector.fromArray(F, x, x3 + i);
            a03 = v0.fma(y, a03);
            a13 = v1.fma(y, a13);
            a23 = v2.fma(y, a23);
            a33 = v3.fma(y, a33);
        }
        a00.intoArray(lanes, 0 * L);
        a01.intoArray(lanes, 1 * L);
        a02.intoArray(lanes, 2 * L);
        a03.intoArray(lanes, 3 * L);
        a10.intoArray(lanes, 4 * L);
        a11.intoArray(lanes, 5 * L);
        a12.intoArray(lanes, 6 * L);
        a13.intoArray(lanes, 7 * L);
        a20.intoArray(lanes, 8 * L);
        a21.intoArray(lanes, 9 * L);
        a22.intoArray(lanes, 10 * L);
        a23.intoArray(lanes, 11 * L);
        a30.intoArray(lanes, 12 * L);
        a31.intoArray(lanes, 13 * L);
        a32.intoArray(lanes, 14 * L);
        a33.intoArray(lanes, 15 * L);
        finish(lanes, 4, 4, w0, w1, w2, w3, cols, i, x, xo, out, oo, stride);
    }

    /** Rows r..r+3 against tokens t and t+1, the same FMAs per token and row as dot. */
    private static void dot4x2(
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            int cols,
            float[] x,
            int xo,
            float[] out,
            int oo,
            int stride,
            float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int x1 = xo + cols;
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(F, w0, i);
            FloatVector v1 = FloatVector.fromArray(F, w1, i);
            FloatVector v2 = FloatVector.fromArray(F, w2, i);
            FloatVector v3 = FloatVector.fromArray(F, w3, i);
            FloatVector y = FloatVector.fromArray(F, x, xo + i);
            a00 = v0.fma(y, a00);
            a10 = v1.fma(y, a10);
            a20 = v2.fma(y, a20);
            a30 = v3.fma(y, a30);
            y = FloatVector.fromArray(F, x, x1 + i);
            a01 = v0.fma(y, a01);
            a11 = v1.fma(y, a11);
            a21 = v2.fma(y, a21);
            a31 = v3.fma(y, a31);
        }
        a00.intoArray(lanes, 0 * L);
        a01.intoArray(lanes, 1 * L);
        a10.intoArray(lanes, 2 * L);
        a11.intoArray(lanes, 3 * L);
        a20.intoArray(lanes, 4 * L);
        a21.intoArray(lanes, 5 * L);
        a30.intoArray(lanes, 6 * L);
        a31.intoArray(lanes, 7 * L);
        finish(lanes, 4, 2, w0, w1, w2, w3, cols, i, x, xo, out, oo, stride);
    }

    /**
     * A tile's sums: pair (row k, token j)'s lanes, stored at {@code lanes[(k * tokens + j) * L]}, added as {@link
     * #sum} adds them, then the scalar tail from column {@code i}, into out[oo + j * stride + k]. The tiles store
     * their accumulators rather than sum them in place: C2 stops inlining in a method this large, and a vector handed
     * to a call that is not inlined is boxed, several allocations per tile.
     */
    private static void finish(
            float[] lanes,
            int tileRows,
            int tokens,
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            int cols,
            int i,
            float[] x,
            int xo,
            float[] out,
            int oo,
            int stride) {
        for (int k = 0; k < tileRows; k++) {
            float[] w = k == 0 ? w0 : k == 1 ? w1 : k == 2 ? w2 : w3;
            for (int j = 0; j < tokens; j++) {
                float s = sum(lanes, (k * tokens + j) * L);
                for (int c = i; c < cols; c++) s += w[c] * x[xo + j * cols + c];
                out[oo + j * stride + k] = s;
            }
        }
    }

    /**
     * The lanes of {@code v} added in a fixed pairwise order (halves, then quarters, ...). {@code reduceLanes} may add
     * in a different order when compiled than when interpreted, which would make a token's logits depend on which code
     * tier served it; rotations and lane-wise adds are exact, so this tree gives the same bits everywhere.
     *
     * <p>Straight-line code with one constant rotation per step: a loop over an array of shuffles left the vector's
     * exact class unknown inside the loop, so the JIT could not intrinsify the calls and boxed the accumulator of the
     * calling kernel, which made some compilations of every quantized kernel several times slower.
     */
    static float sum(FloatVector v) {
        if (L == 16) v = v.add(v.rearrange(ROTATE_8));
        v = v.add(v.rearrange(ROTATE_4));
        v = v.add(v.rearrange(ROTATE_2));
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    /**
     * {@link #sum} of the L lanes stored at {@code v[o .. o+L)}, in the same order and so to the same bits, in scalar
     * code: for kernels that hand their lanes over in an array rather than as a vector.
     */
    static float sum(float[] v, int o) {
        float a0 = v[o], a1 = v[o + 1], a2 = v[o + 2], a3 = v[o + 3];
        float a4 = v[o + 4], a5 = v[o + 5], a6 = v[o + 6], a7 = v[o + 7];
        if (L == 16) {
            a0 += v[o + 8];
            a1 += v[o + 9];
            a2 += v[o + 10];
            a3 += v[o + 11];
            a4 += v[o + 12];
            a5 += v[o + 13];
            a6 += v[o + 14];
            a7 += v[o + 15];
        }
        return ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7));
    }

    /** Lane i takes lane (i + n) mod L. */
    private static final VectorShuffle<Float> ROTATE_8 = VectorShuffle.iota(F, 8, 1, true);

    private static final VectorShuffle<Float> ROTATE_4 = VectorShuffle.iota(F, 4, 1, true);
    private static final VectorShuffle<Float> ROTATE_2 = VectorShuffle.iota(F, 2, 1, true);
    private static final VectorShuffle<Float> ROTATE_1 = VectorShuffle.iota(F, 1, 1, true);
}
