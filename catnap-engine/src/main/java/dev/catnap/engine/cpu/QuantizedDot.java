package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q8_0 and Q4_0 weights against {@link Q8Activations}, as ggml computes them: per block of 32, the exact integer sum
 * of the products, times {@code d_weight * d_activation}, accumulated in floats.
 *
 * <p>These are the kernels for the single tokens of decoding sequences. 16 weights and 16 activations multiply in 16-bit lanes
 * (the Vector API's nearest to {@code vpmaddwd}: the product of two 8-bit values, and the sum of two such products,
 * fit in 16 bits), adjacent lanes are added into 32-bit ones, converted to floats and scaled once per block. That is
 * about half the instructions of widening every weight to a float, and the activations read per block shrink from
 * 128 bytes to 64. Three or more such tokens use float tiles that give the same bits ({@link #tile2x3}).
 *
 * <p>Rows of prompts go through {@link PromptTiles} instead, over {@link #widenIntegers} and the rounded activations'
 * integers: the same exact block sums and the same scale FMA per block, with the block sums formed in another order
 * (exact either way) and each block sum as one float rather than in lanes, so the two forms agree to float rounding
 * (about 1e-7 relative), not bit for bit. Which form a row takes depends on its own kind (a decoding sequence's one
 * token, or a row of a prompt), never on the rest of the batch.
 *
 * <p>Q8_0 uses 512-bit vectors where the CPU has them ({@link #WIDE}: one block per vector, 16 lanes, exact tiles of
 * 4 rows x 3 tokens in the 32 registers). Q4_0 forms each block's 16 lanes in 256-bit vectors from the file's layout
 * (lane j: elements j and j+16), and on 512-bit CPUs from {@link RowGroups}' pairs, two blocks per 512-bit vector,
 * the same lanes to the bit ({@link #q4PairGroup}).
 * The two widths add a block's products in different lanes, so their results differ from each other by float
 * rounding; on one CPU every Q8_0 product takes one width, and the batch invariance holds.
 */
final class QuantizedDot {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int Q8_BYTES = GGMLType.Q8_0.blockBytes();
    private static final int Q4_BYTES = GGMLType.Q4_0.blockBytes();
    /**
     * Products on CPUs with 512-bit vectors: 16 float lanes per block. Q8_0: a whole block in one vector of 16-bit
     * lanes, multiplied once, adjacent products added into 16 lanes of 32 bits (lane j: elements 2j and 2j+1).
     * Q4_0: its 16 packed bytes unpack to two halves of 16 lanes, multiplied and added in 16 bits, then widened
     * (lane j: elements j and j+16). Exact tiles of 4 rows x 3 tokens use the 32 registers.
     */
    static final boolean WIDE = MatMul.F.length() == 16;

    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_512;
    private static final VectorSpecies<Short> SW = ShortVector.SPECIES_512;
    private static final VectorSpecies<Byte> BW = ByteVector.SPECIES_256;
    private static final VectorSpecies<Integer> IW = IntVector.SPECIES_512;

    private QuantizedDot() {}

    static boolean handles(GGMLType type) {
        return type == GGMLType.Q8_0 || type == GGMLType.Q4_0;
    }

    /**
     * out[t * stride + r] for r in [r0, r1) and tokens [0, n) of {@code x}, the single tokens of their sequences:
     * with the integer kernels, rows outer (two at a time with 256-bit vectors, so that their chains of dependent
     * FMAs overlap; with 512-bit ones, Q8_0 a {@link RowGroups} group of four rows at a time, one stream from memory
     * with four chains, and Q4_0 a group of four rows in pairs of blocks) and tokens inner, so that the rows come
     * from memory for the first token and from L1 for the others; from three tokens on, with exact float tiles (2
     * rows x 3 tokens, 4 x 3 with 512-bit vectors: same bits, more multiply-adds per cycle) and, for the one or two
     * tokens left over, the integer kernels (with 512-bit vectors, 4 x 1 tiles over the same spread rows). {@code
     * scratch}: seven arrays of at least {@code max(cols, 256)} floats, private to the calling
     * thread. {@code w} is in {@code layout} (the 256-bit kernels take only the file's).
     */
    static void rows(
            GGMLType type,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r0,
            int r1,
            Q8Activations x,
            int n,
            float[] out,
            int stride,
            float[][] scratch) {
        int blocks = cols / 32;
        boolean q8 = type == GGMLType.Q8_0;
        long rowBytes = (long) blocks * (q8 ? Q8_BYTES : Q4_BYTES);
        if (WIDE) {
            wideRows(q8, w, cols, layout, r0, r1, x, n, out, stride, scratch);
            return;
        }
        int tiled = usesTiles(n) ? n - n % 3 : 0;
        float[] lanes = scratch[6];
        int r = r0;
        if (tiled > 0) {
            float[] wq0 = scratch[0], wq1 = scratch[1], wd = scratch[2], scales = scratch[3];
            for (; r + 2 <= r1; r += 2) {
                spreadRow(q8, w, r * rowBytes, blocks, wq0, wd, 0);
                spreadRow(q8, w, (r + 1) * rowBytes, blocks, wq1, wd, blocks);
                for (int t = 0; t < tiled; t += 3) {
                    tileScales(wd, 2, x.d, t, 3, blocks, scales);
                    tile2x3(wq0, wq1, scales, blocks, x.spread, t, cols, out, t * stride + r, stride, lanes);
                }
                for (int t = tiled; t < n; t++) {
                    if (q8) q8Dot2(w, r * rowBytes, rowBytes, blocks, x, t, out, t * stride + r, lanes);
                    else q4Dot2(w, r * rowBytes, rowBytes, blocks, x, t, out, t * stride + r, lanes);
                }
            }
        }
        for (; r + 2 <= r1; r += 2) {
            for (int t = 0; t < n; t++) {
                if (q8) q8Dot2(w, r * rowBytes, rowBytes, blocks, x, t, out, t * stride + r, lanes);
                else q4Dot2(w, r * rowBytes, rowBytes, blocks, x, t, out, t * stride + r, lanes);
            }
        }
        for (; r < r1; r++) {
            for (int t = 0; t < n; t++) out[t * stride + r] = dot(q8, w, r * rowBytes, blocks, x, t, lanes);
        }
    }

    /** Single tokens from which the exact tiles take over from the integer kernels. */
    static boolean usesTiles(int n) {
        return n >= 3;
    }

    /**
     * The integer kernels leave their lanes in {@code lanes} (at least 16 floats) rather than return a vector: a
     * kernel's own compilation can run out of C2's node budget before it inlines the final sum, and a vector handed
     * to a call that is not inlined is boxed, an allocation per row. {@link MatMul#sum(float[], int)} adds them in
     * the order {@link MatMul#sum(FloatVector)} does.
     */
    private static float dot(
            boolean q8, MemorySegment w, long base, int blocks, Q8Activations x, int t, float[] lanes) {
        if (q8) q8Dot(w, base, blocks, x.q, x.d, t * blocks * 32, t * blocks, lanes);
        else q4Dot(w, base, blocks, x.q, x.d, t * blocks * 32, t * blocks, lanes);
        return MatMul.sum(lanes, 0);
    }

    // ---- integer kernels: one weight row against one activation row ----

    static void q8Dot(MemorySegment w, long base, int blocks, short[] xq, float[] xd, int xo, int bo, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q8_BYTES;
            int o = xo + b * 32;
            ShortVector p = shorts(w, off + 2)
                    .mul(ShortVector.fromArray(S, xq, o))
                    .add(shorts(w, off + 18).mul(ShortVector.fromArray(S, xq, o + 16)));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = pairSums(p).fma(FloatVector.broadcast(F, d), acc);
        }
        acc.intoArray(lanes, 0);
    }

    static void q4Dot(MemorySegment w, long base, int blocks, short[] xq, float[] xd, int xo, int bo, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q4_BYTES;
            int o = xo + b * 32;
            ShortVector packed = shorts(w, off + 2);
            ShortVector p = low(packed)
                    .mul(ShortVector.fromArray(S, xq, o))
                    .add(high(packed).mul(ShortVector.fromArray(S, xq, o + 16)));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = pairSums(p).fma(FloatVector.broadcast(F, d), acc);
        }
        acc.intoArray(lanes, 0);
    }

    /**
     * Two rows against token t, into out[oo], out[oo+1]: each row's sum is {@link #q8Dot}'s, in the same order, with
     * the two chains of dependent FMAs interleaved so that a block does not wait for the previous one's. (Four rows
     * made a method too large for C2 to keep its vectors in registers: it ran twice as slow as one row.)
     */
    private static void q8Dot2(
            MemorySegment w,
            long base,
            long rowBytes,
            int blocks,
            Q8Activations x,
            int t,
            float[] out,
            int oo,
            float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        short[] xq = x.q;
        int xo = t * blocks * 32, bo = t * blocks;
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q8_BYTES;
            int o = xo + b * 32;
            ShortVector ylo = ShortVector.fromArray(S, xq, o), yhi = ShortVector.fromArray(S, xq, o + 16);
            float dx = x.d[bo + b];
            a0 = pairSums(shorts(w, off + 2).mul(ylo).add(shorts(w, off + 18).mul(yhi)))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)) * dx), a0);
            off += rowBytes;
            a1 = pairSums(shorts(w, off + 2).mul(ylo).add(shorts(w, off + 18).mul(yhi)))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)) * dx), a1);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        out[oo] = MatMul.sum(lanes, 0);
        out[oo + 1] = MatMul.sum(lanes, 8);
    }

    /** {@link #q8Dot2} for Q4_0 weights (four rows ran 4.6 times slower, as for Q8_0). */
    private static void q4Dot2(
            MemorySegment w,
            long base,
            long rowBytes,
            int blocks,
            Q8Activations x,
            int t,
            float[] out,
            int oo,
            float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        short[] xq = x.q;
        int xo = t * blocks * 32, bo = t * blocks;
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q4_BYTES;
            int o = xo + b * 32;
            ShortVector ylo = ShortVector.fromArray(S, xq, o), yhi = ShortVector.fromArray(S, xq, o + 16);
            float dx = x.d[bo + b];
            ShortVector p0 = shorts(w, off + 2);
            a0 = pairSums(low(p0).mul(ylo).add(high(p0).mul(yhi)))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)) * dx), a0);
            off += rowBytes;
            ShortVector p1 = shorts(w, off + 2);
            a1 = pairSums(low(p1).mul(ylo).add(high(p1).mul(yhi)))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)) * dx), a1);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 8);
        out[oo] = MatMul.sum(lanes, 0);
        out[oo + 1] = MatMul.sum(lanes, 8);
    }

    /**
     * 16 bytes sign-extended to shorts: Q8_0 weights, or the packed bytes of a Q4_0 block (byte i holds element i in
     * its low nibble and element i + 16 in its high one), whose nibbles are then cut out of the 16-bit lanes: x86
     * has shifts for those, not for bytes.
     */
    private static ShortVector shorts(MemorySegment w, long off) {
        return (ShortVector) ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2S, S, 0);
    }

    private static ShortVector low(ShortVector packed) {
        return packed.and((short) 0x0F).sub((short) 8);
    }

    private static ShortVector high(ShortVector packed) {
        return packed.lanewise(VectorOperators.LSHR, 4).and((short) 0x0F).sub((short) 8);
    }

    /** Lane j: short lanes 2j and 2j+1 added, as a float (the 16-bit values are sign-extended first). */
    private static FloatVector pairSums(ShortVector p) {
        IntVector i = p.reinterpretAsInts();
        IntVector sum = i.lanewise(VectorOperators.LSHL, 16)
                .lanewise(VectorOperators.ASHR, 16)
                .add(i.lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) sum.convert(VectorOperators.I2F, 0);
    }

    // ---- exact float tiles for three or more single tokens: the integer kernels' numbers, 2 rows x 3 tokens ----

    /**
     * 16 integers as floats in the integer kernels' lane order: the even elements into {@code dst[o .. o+8)}, the odd
     * ones into {@code dst[o+8 .. o+16)}. A block's two halves then give lane j elements {2j, 2j+1} and {2j+16,
     * 2j+17}, the four that {@link #pairSums} adds. Integer products and sums of this size are exact in floats in
     * any order, so each lane's block sum is the integer kernels' to the bit.
     */
    private static void spread(ShortVector v, float[] dst, int o) {
        IntVector i = v.reinterpretAsInts();
        ((FloatVector) i.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0))
                .intoArray(dst, o);
        ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).intoArray(dst, o + 8);
    }

    /** One block of 32 quantized activations, spread for the exact tiles. */
    static void spreadBlock(GGMLType type, short[] q, int qo, float[] dst, int o) {
        if (WIDE && type == GGMLType.Q8_0) {
            wideSpread(ShortVector.fromArray(SW, q, qo), dst, o);
            return;
        }
        if (WIDE) {
            ((FloatVector) ShortVector.fromArray(S, q, qo).convertShape(VectorOperators.S2F, FW, 0)).intoArray(dst, o);
            ((FloatVector) ShortVector.fromArray(S, q, qo + 16).convertShape(VectorOperators.S2F, FW, 0))
                    .intoArray(dst, o + 16);
            return;
        }
        spread(ShortVector.fromArray(S, q, qo), dst, o);
        spread(ShortVector.fromArray(S, q, qo + 16), dst, o + 16);
    }

    private static void spreadRow(boolean q8, MemorySegment w, long base, int blocks, float[] wq, float[] wd, int wdo) {
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) (q8 ? Q8_BYTES : Q4_BYTES);
            wd[wdo + b] = Float.float16ToFloat(w.get(I16, off));
            ShortVector lo = shorts(w, off + 2);
            ShortVector hi = q8 ? shorts(w, off + 18) : high(lo);
            if (!q8) lo = low(lo);
            spread(lo, wq, b * 32);
            spread(hi, wq, b * 32 + 16);
        }
    }

    /**
     * A tile's block scales, {@code d_weight * d_activation} for rows i of {@code wd} (row i's scales at {@code i *
     * blocks}) and tokens t+j, j < {@code tokens}: pair (i, j) at {@code (i * tokens + j) * blocks}. The same products as the
     * integer kernels take, computed eight blocks at a time, so that the tile's inner loop only loads them.
     */
    private static void tileScales(
            float[] wd, int tileRows, float[] xd, int t, int tokens, int blocks, float[] scales) {
        for (int i = 0; i < tileRows; i++) {
            for (int j = 0; j < tokens; j++) {
                int so = (i * tokens + j) * blocks, wo = i * blocks, xo = (t + j) * blocks;
                int b = 0;
                for (int bound = F.loopBound(blocks); b < bound; b += 8) {
                    FloatVector.fromArray(F, wd, wo + b)
                            .mul(FloatVector.fromArray(F, xd, xo + b))
                            .intoArray(scales, so + b);
                }
                for (; b < blocks; b++) scales[so + b] = wd[wo + b] * xd[xo + b];
            }
        }
    }

    /**
     * Rows r, r+1 (spread integers {@code w0}, {@code w1}) against tokens t..t+2, with the pairs' block scales from
     * {@link #tileScales}: out[oo + j * stride + i] for row r+i and token t+j. Per block, each pair sums its four
     * 8-lane parts exactly, then takes the integer kernel's scale FMA.
     */
    private static void tile2x3(
            float[] w0,
            float[] w1,
            float[] sc,
            int blocks,
            float[] xs,
            int t,
            int cols,
            float[] out,
            int oo,
            int stride,
            float[] lanes) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
        int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        for (int b = 0; b < blocks; b++) {
            int o = b * 32;
            FloatVector u = FloatVector.fromArray(F, w0, o);
            FloatVector v = FloatVector.fromArray(F, w1, o);
            FloatVector y = FloatVector.fromArray(F, xs, x0 + o);
            FloatVector p00 = u.mul(y), p10 = v.mul(y);
            y = FloatVector.fromArray(F, xs, x1 + o);
            FloatVector p01 = u.mul(y), p11 = v.mul(y);
            y = FloatVector.fromArray(F, xs, x2 + o);
            FloatVector p02 = u.mul(y), p12 = v.mul(y);
            for (int k = 8; k < 32; k += 8) {
                u = FloatVector.fromArray(F, w0, o + k);
                v = FloatVector.fromArray(F, w1, o + k);
                y = FloatVector.fromArray(F, xs, x0 + o + k);
                p00 = u.fma(y, p00);
                p10 = v.fma(y, p10);
                y = FloatVector.fromArray(F, xs, x1 + o + k);
                p01 = u.fma(y, p01);
                p11 = v.fma(y, p11);
                y = FloatVector.fromArray(F, xs, x2 + o + k);
                p02 = u.fma(y, p02);
                p12 = v.fma(y, p12);
            }
            a00 = p00.fma(FloatVector.broadcast(F, sc[b]), a00);
            a01 = p01.fma(FloatVector.broadcast(F, sc[blocks + b]), a01);
            a02 = p02.fma(FloatVector.broadcast(F, sc[2 * blocks + b]), a02);
            a10 = p10.fma(FloatVector.broadcast(F, sc[3 * blocks + b]), a10);
            a11 = p11.fma(FloatVector.broadcast(F, sc[4 * blocks + b]), a11);
            a12 = p12.fma(FloatVector.broadcast(F, sc[5 * blocks + b]), a12);
        }
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, 8);
        a01.intoArray(lanes, 16);
        a11.intoArray(lanes, 24);
        a02.intoArray(lanes, 32);
        a12.intoArray(lanes, 40);
        for (int j = 0; j < 3; j++) {
            out[oo + j * stride] = MatMul.sum(lanes, j * 16);
            out[oo + j * stride + 1] = MatMul.sum(lanes, j * 16 + 8);
        }
    }

    // ---- 512-bit vectors: one block per 16 float lanes ----

    /** {@link #rows} with 512-bit vectors: exact tiles of 4 rows x 3 tokens, the integer kernels row by row for the rest. */
    private static void wideRows(
            boolean q8,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r0,
            int r1,
            Q8Activations x,
            int n,
            float[] out,
            int stride,
            float[][] scratch) {
        int blocks = cols / 32;
        int tiled = usesTiles(n) ? n - n % 3 : 0;
        float[] lanes = scratch[6];
        int r = r0;
        if (tiled > 0) {
            float[] wq0 = scratch[0], wq1 = scratch[1], wq2 = scratch[2], wq3 = scratch[3];
            float[] wd = scratch[4], scales = scratch[5];
            for (; r + 4 <= r1; r += 4) {
                wideSpreadRow(q8, w, layout, r, blocks, wq0, wd, 0);
                wideSpreadRow(q8, w, layout, r + 1, blocks, wq1, wd, blocks);
                wideSpreadRow(q8, w, layout, r + 2, blocks, wq2, wd, 2 * blocks);
                wideSpreadRow(q8, w, layout, r + 3, blocks, wq3, wd, 3 * blocks);
                for (int t = 0; t < tiled; t += 3) {
                    tileScales(wd, 4, x.d, t, 3, blocks, scales);
                    wideTile4x3(
                            wq0, wq1, wq2, wq3, scales, blocks, x.spread, t, cols, out, t * stride + r, stride, lanes);
                }
                // the one or two tokens left over, from the same spread rows
                for (int t = tiled; t < n; t++) {
                    tileScales(wd, 4, x.d, t, 1, blocks, scales);
                    wideTile4x1(wq0, wq1, wq2, wq3, scales, blocks, x.spread, t, cols, out, t * stride + r, lanes);
                }
            }
        }
        // A group's four rows at once, tokens inner: the group is one stream, read from memory for the first token
        // and from L1 for the others, and its four chains of FMAs overlap.
        for (; layout.groupAt(r) && r + RowGroups.ROWS <= r1; r += RowGroups.ROWS) {
            for (int t = 0; t < n; t++) wideGroupDots(w, layout, r, blocks, x, t, cols, out, stride, lanes);
        }
        for (; r < r1; r++) {
            for (int t = 0; t < n; t++) out[t * stride + r] = wideDot(q8, w, layout, r, blocks, x, t, cols, lanes);
        }
    }

    /** Rows r..r+3, a group of the layout, against token t: out[t * stride + r + i]. */
    private static void wideGroupDots(
            MemorySegment w,
            RowGroups.Layout layout,
            int r,
            int blocks,
            Q8Activations x,
            int t,
            int cols,
            float[] out,
            int stride,
            float[] lanes) {
        if (layout.kind() == RowGroups.Kind.Q4_PAIRS) {
            for (int i = 0; i < RowGroups.ROWS; i++) {
                q4PairScales(w, layout.scalesStart(r + i), blocks, x.d, t * blocks, lanes, PAIR_SCALES + i * blocks);
            }
            q4PairGroup(w, layout.pairsStart(r), blocks, x.pairs, t * pairShorts(cols), lanes);
        } else {
            wideQ8Group(w, layout.rowStart(r), blocks, x.q, x.d, t * cols, t * blocks, lanes);
        }
        for (int i = 0; i < RowGroups.ROWS; i++) out[t * stride + r + i] = MatMul.sum(lanes, i * 16);
    }

    /** Row r against token t with the integer kernels, their lanes handed over as {@link #dot}'s are. */
    private static float wideDot(
            boolean q8,
            MemorySegment w,
            RowGroups.Layout layout,
            int r,
            int blocks,
            Q8Activations x,
            int t,
            int cols,
            float[] lanes) {
        if (layout.kind() == RowGroups.Kind.Q4_PAIRS) {
            q4PairScales(w, layout.scalesStart(r), blocks, x.d, t * blocks, lanes, PAIR_SCALES);
            q4PairDot(w, layout.pairsStart(r), layout.pairStep(r), blocks, x.pairs, t * pairShorts(cols), lanes);
            return MatMul.sum(lanes, 0);
        }
        long base = layout.rowStart(r), step = layout.unitStep(r);
        if (q8) wideQ8Dot(w, base, step, blocks, x.q, x.d, t * cols, t * blocks, lanes);
        else wideQ4Dot(w, base, step, blocks, x.q, x.d, t * cols, t * blocks, lanes);
        return MatMul.sum(lanes, 0);
    }

    // ---- Q4_0 in RowGroups' pairs: two blocks per 512-bit pass ----

    /**
     * Where the kernels of {@link RowGroups.Kind#Q4_PAIRS} keep a row's block scales (times the token's) in their
     * {@code lanes} array, after the 64 floats of four rows' lanes: {@code cols / 8} floats for four rows, within the
     * {@code max(cols, 256)} of a scratch array.
     */
    static final int PAIR_SCALES = 64;

    /** Shorts per token of {@link Q8Activations#pairs}: 96 per 64 values. */
    static int pairShorts(int cols) {
        return cols / 2 * 3;
    }

    /**
     * A token's rounded activations {@code q[qo .. qo+cols)} arranged for {@link #q4PairGroup}: per pair of blocks,
     * 96 shorts at {@code dst[o + 96k]}. The kernel widens a pair's 32 packed bytes to 16-bit lanes {@code s} (lane
     * 2j: byte j of the first block, 2j+1: of the second; each byte {@code 16 * high + low}) and forms {@code s * XL
     * + (s >>> 4) * XH' + C}: with XL the values of the low nibbles (elements j of both blocks, interleaved alike), XH'
     * those of the high ones (elements j+16) less 16 XL, so that the high nibble's share of {@code s * XL} cancels,
     * and C = -8 (XL + XH) for the nibbles' offset of 8. Lane 2j is then the first block's e_j x_j + e_{j+16} x_{j+16},
     * the file-layout kernel's lane j, exactly: the products wrap in 16 bits, the sum does not need to.
     */
    static void q4PairActivations(short[] q, int qo, int cols, short[] dst, int o) {
        for (int k = 0; k < cols / 64; k++, qo += 64, o += 96) {
            ShortVector low = interleave(ShortVector.fromArray(S, q, qo), ShortVector.fromArray(S, q, qo + 32));
            ShortVector high = interleave(ShortVector.fromArray(S, q, qo + 16), ShortVector.fromArray(S, q, qo + 48));
            low.intoArray(dst, o);
            high.sub(low.lanewise(VectorOperators.LSHL, 4)).intoArray(dst, o + 32);
            low.add(high).mul((short) -8).intoArray(dst, o + 64);
        }
    }

    /** Lanes 2j of {@code even}'s lane j, 2j+1 of {@code odd}'s. */
    private static ShortVector interleave(ShortVector even, ShortVector odd) {
        IntVector e = (IntVector) even.convertShape(VectorOperators.S2I, IW, 0);
        IntVector o = (IntVector) odd.convertShape(VectorOperators.S2I, IW, 0);
        return e.and(0xFFFF).or(o.lanewise(VectorOperators.LSHL, 16)).reinterpretAsShorts();
    }

    /**
     * sc[so + b] = the F16 block scale b of a row (at {@code at}) times the token's {@code xd[bo + b]}: the products
     * the file-layout kernel forms, sixteen at a time, with the conversion of finite halves that F16 products use
     * ({@link MatMul#FINITE_BITS}); sixteen that hold an infinity or NaN take the scalar conversion from there on.
     */
    static void q4PairScales(MemorySegment w, long at, int blocks, float[] xd, int bo, float[] sc, int so) {
        int b = 0;
        for (; b + 16 <= blocks; b += 16) {
            IntVector h = (IntVector)
                    ShortVector.fromMemorySegment(S, w, at + 2L * b, LE).convertShape(VectorOperators.S2I, IW, 0);
            if (h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00).anyTrue()) break;
            h.lanewise(VectorOperators.LSHL, 13)
                    .and(MatMul.FINITE_BITS)
                    .reinterpretAsFloats()
                    .mul(0x1p112f)
                    .mul(FloatVector.fromArray(FW, xd, bo + b))
                    .intoArray(sc, so + b);
        }
        for (; b < blocks; b++) sc[so + b] = Float.float16ToFloat(w.get(I16, at + 2L * b)) * xd[bo + b];
    }

    /**
     * The four rows of a pairs group (their pairs from {@code pairs}, 128 bytes per pair) against one token's {@code
     * xp[xo ..]} ({@link #q4PairActivations}), with row i's scales at {@code lanes[PAIR_SCALES + i * blocks ..]}
     * ({@link #q4PairScales}): row i's lanes into {@code lanes[16i .. 16i+16)}, the bits of {@link #wideQ4Dot}. Every
     * vector operation is spelled out here: with the widening in a helper, C2 left the helper out of line in a model's
     * process (a vector returned by a call is boxed), and decoding ran at two thirds of the old kernel's speed.
     */
    static void q4PairGroup(MemorySegment w, long pairs, int blocks, short[] xp, int xo, float[] lanes) {
        FloatVector a0 = FloatVector.zero(FW), a1 = a0, a2 = a0, a3 = a0;
        int s0 = PAIR_SCALES, s1 = s0 + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        for (int k = 0, count = blocks / 2; k < count; k++) {
            int o = xo + 96 * k, b = 2 * k;
            ShortVector xl = ShortVector.fromArray(SW, xp, o);
            ShortVector xh = ShortVector.fromArray(SW, xp, o + 32);
            ShortVector c = ShortVector.fromArray(SW, xp, o + 64);
            long at = pairs + k * 128L;
            ShortVector v = (ShortVector)
                    ByteVector.fromMemorySegment(BW, w, at, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
            IntVector p = v.mul(xl)
                    .add(v.lanewise(VectorOperators.LSHR, 4).mul(xh))
                    .add(c)
                    .reinterpretAsInts();
            a0 = ((FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s0 + b]), a0);
            a0 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s0 + b + 1]), a0);
            v = (ShortVector) ByteVector.fromMemorySegment(BW, w, at + 32, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
            p = v.mul(xl)
                    .add(v.lanewise(VectorOperators.LSHR, 4).mul(xh))
                    .add(c)
                    .reinterpretAsInts();
            a1 = ((FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s1 + b]), a1);
            a1 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s1 + b + 1]), a1);
            v = (ShortVector) ByteVector.fromMemorySegment(BW, w, at + 64, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
            p = v.mul(xl)
                    .add(v.lanewise(VectorOperators.LSHR, 4).mul(xh))
                    .add(c)
                    .reinterpretAsInts();
            a2 = ((FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s2 + b]), a2);
            a2 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s2 + b + 1]), a2);
            v = (ShortVector) ByteVector.fromMemorySegment(BW, w, at + 96, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
            p = v.mul(xl)
                    .add(v.lanewise(VectorOperators.LSHR, 4).mul(xh))
                    .add(c)
                    .reinterpretAsInts();
            a3 = ((FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s3 + b]), a3);
            a3 = ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[s3 + b + 1]), a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 16);
        a2.intoArray(lanes, 32);
        a3.intoArray(lanes, 48);
    }

    /** {@link #q4PairGroup} for one row, its pairs {@code step} bytes apart; its scales at {@code lanes[PAIR_SCALES ..]}. */
    static void q4PairDot(MemorySegment w, long pairs, long step, int blocks, short[] xp, int xo, float[] lanes) {
        FloatVector a = FloatVector.zero(FW);
        for (int k = 0, count = blocks / 2; k < count; k++) {
            int o = xo + 96 * k, b = PAIR_SCALES + 2 * k;
            ShortVector v = (ShortVector) ByteVector.fromMemorySegment(BW, w, pairs + k * step, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
            IntVector p = v.mul(ShortVector.fromArray(SW, xp, o))
                    .add(v.lanewise(VectorOperators.LSHR, 4).mul(ShortVector.fromArray(SW, xp, o + 32)))
                    .add(ShortVector.fromArray(SW, xp, o + 64))
                    .reinterpretAsInts();
            a = ((FloatVector) p.lanewise(VectorOperators.LSHL, 16)
                            .lanewise(VectorOperators.ASHR, 16)
                            .convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[b]), a);
            a = ((FloatVector) p.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.broadcast(FW, lanes[b + 1]), a);
        }
        a.intoArray(lanes, 0);
    }

    /**
     * A pair's values (nibbles less 8) as floats: the first block's 32 times {@code d0} into {@code row[o .. o+32)},
     * the second's times {@code d1} into {@code row[o+32 .. o+64)}, in element order. Times 1 they are the integers
     * of the exact tiles and of {@link PromptTiles}; times the block scales the widened weights (exact either way).
     */
    private static void q4PairValues(MemorySegment w, long at, float d0, float d1, float[] row, int o) {
        ShortVector v = (ShortVector)
                ByteVector.fromMemorySegment(BW, w, at, LE).convertShape(VectorOperators.ZERO_EXTEND_B2S, SW, 0);
        IntVector low = v.and((short) 0x0F).sub((short) 8).reinterpretAsInts();
        IntVector high = v.lanewise(VectorOperators.LSHR, 4).sub((short) 8).reinterpretAsInts();
        ((FloatVector) low.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0))
                .mul(d0)
                .intoArray(row, o);
        ((FloatVector) high.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0))
                .mul(d0)
                .intoArray(row, o + 16);
        ((FloatVector) low.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                .mul(d1)
                .intoArray(row, o + 32);
        ((FloatVector) high.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0))
                .mul(d1)
                .intoArray(row, o + 48);
    }

    /** Row r's integers ({@link #q4PairValues} times 1) into {@code row}, its block scales into {@code wd[wdo ..]}. */
    private static void q4PairIntegers(
            MemorySegment w, RowGroups.Layout layout, int r, int blocks, float[] row, float[] wd, int wdo) {
        long scales = layout.scalesStart(r), pairs = layout.pairsStart(r), step = layout.pairStep(r);
        for (int b = 0; b < blocks; b++) wd[wdo + b] = Float.float16ToFloat(w.get(I16, scales + 2L * b));
        for (int k = 0; k < blocks / 2; k++) q4PairValues(w, pairs + k * step, 1f, 1f, row, 64 * k);
    }

    /** Row r's weights, {@code d * (nibble - 8)}, into {@code row}. */
    private static void q4PairWidened(MemorySegment w, RowGroups.Layout layout, int r, int blocks, float[] row) {
        long scales = layout.scalesStart(r), pairs = layout.pairsStart(r), step = layout.pairStep(r);
        for (int k = 0; k < blocks / 2; k++) {
            float d0 = Float.float16ToFloat(w.get(I16, scales + 4L * k));
            float d1 = Float.float16ToFloat(w.get(I16, scales + 4L * k + 2));
            q4PairValues(w, pairs + k * step, d0, d1, row, 64 * k);
        }
    }

    static void wideQ4Dot(
            MemorySegment w, long base, long step, int blocks, short[] xq, float[] xd, int xo, int bo, float[] lanes) {
        FloatVector acc = FloatVector.zero(FW);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * step;
            int o = xo + b * 32;
            ShortVector packed = shorts(w, off + 2);
            ShortVector p = low(packed)
                    .mul(ShortVector.fromArray(S, xq, o))
                    .add(high(packed).mul(ShortVector.fromArray(S, xq, o + 16)));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = wideHalfSums(p).fma(FloatVector.broadcast(FW, d), acc);
        }
        acc.intoArray(lanes, 0);
    }

    /** 16 shorts (each the sum of elements j and j+16) widened to 16 float lanes. */
    private static FloatVector wideHalfSums(ShortVector p) {
        return (FloatVector) p.convertShape(VectorOperators.S2F, FW, 0);
    }

    static void wideQ8Dot(
            MemorySegment w, long base, long step, int blocks, short[] xq, float[] xd, int xo, int bo, float[] lanes) {
        FloatVector acc = FloatVector.zero(FW);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * step;
            ShortVector p = wideShorts(w, off + 2).mul(ShortVector.fromArray(SW, xq, xo + b * 32));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = widePairSums(p).fma(FloatVector.broadcast(FW, d), acc);
        }
        acc.intoArray(lanes, 0);
    }

    /**
     * The four rows of a group ({@link RowGroups}) starting at {@code base} against one token: row i's lanes into {@code
     * lanes[16i .. 16i+16)}, each the sum {@link #wideQ8Dot} computes for that row, in the same order.
     */
    static void wideQ8Group(
            MemorySegment w, long base, int blocks, short[] xq, float[] xd, int xo, int bo, float[] lanes) {
        FloatVector a0 = FloatVector.zero(FW), a1 = a0, a2 = a0, a3 = a0;
        long off = base;
        for (int b = 0; b < blocks; b++, off += RowGroups.ROWS * Q8_BYTES) {
            ShortVector y = ShortVector.fromArray(SW, xq, xo + b * 32);
            float dx = xd[bo + b];
            a0 = widePairSums(wideShorts(w, off + 2).mul(y))
                    .fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, off)) * dx), a0);
            a1 = widePairSums(wideShorts(w, off + Q8_BYTES + 2).mul(y))
                    .fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, off + Q8_BYTES)) * dx), a1);
            a2 = widePairSums(wideShorts(w, off + 2 * Q8_BYTES + 2).mul(y))
                    .fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, off + 2 * Q8_BYTES)) * dx), a2);
            a3 = widePairSums(wideShorts(w, off + 3 * Q8_BYTES + 2).mul(y))
                    .fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, off + 3 * Q8_BYTES)) * dx), a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 16);
        a2.intoArray(lanes, 32);
        a3.intoArray(lanes, 48);
    }

    /** A block's 32 bytes sign-extended to 32 shorts. */
    private static ShortVector wideShorts(MemorySegment w, long off) {
        return (ShortVector) ByteVector.fromMemorySegment(BW, w, off, LE).convertShape(VectorOperators.B2S, SW, 0);
    }

    /**
     * Lane j: short lanes 2j and 2j+1 added, as a float. Adding the lane shifted up by 16 puts the pair's 16-bit sum
     * in the upper half (the low half carries nothing into it), which fits: two products of 8-bit values.
     */
    private static FloatVector widePairSums(ShortVector p) {
        IntVector i = p.reinterpretAsInts();
        IntVector sum = i.add(i.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16);
        return (FloatVector) sum.convert(VectorOperators.I2F, 0);
    }

    /** 32 integers as floats in the wide kernel's lane order: even elements into dst[o, o+16), odd into dst[o+16, o+32). */
    private static void wideSpread(ShortVector v, float[] dst, int o) {
        IntVector i = v.reinterpretAsInts();
        ((FloatVector) i.lanewise(VectorOperators.LSHL, 16)
                        .lanewise(VectorOperators.ASHR, 16)
                        .convert(VectorOperators.I2F, 0))
                .intoArray(dst, o);
        ((FloatVector) i.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).intoArray(dst, o + 16);
    }

    private static void wideSpreadRow(
            boolean q8, MemorySegment w, RowGroups.Layout layout, int r, int blocks, float[] wq, float[] wd, int wdo) {
        if (layout.kind() == RowGroups.Kind.Q4_PAIRS) {
            q4PairIntegers(w, layout, r, blocks, wq, wd, wdo);
            return;
        }
        long base = layout.rowStart(r), step = layout.unitStep(r);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * step;
            wd[wdo + b] = Float.float16ToFloat(w.get(I16, off));
            if (q8) {
                wideSpread(wideShorts(w, off + 2), wq, b * 32);
            } else {
                ShortVector packed = shorts(w, off + 2);
                ((FloatVector) low(packed).convertShape(VectorOperators.S2F, FW, 0)).intoArray(wq, b * 32);
                ((FloatVector) high(packed).convertShape(VectorOperators.S2F, FW, 0)).intoArray(wq, b * 32 + 16);
            }
        }
    }

    /**
     * {@link #wideTile4x3} for one token t: out[oo + i] for row r+i, row i's block scales at {@code sc[i * blocks ..]}.
     * The same sums to the bit, and the same bits as the integer kernels, at a third of their instructions per block
     * for a token whose weights are spread already.
     */
    private static void wideTile4x1(
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] sc,
            int blocks,
            float[] xs,
            int t,
            int cols,
            float[] out,
            int oo,
            float[] lanes) {
        FloatVector a0 = FloatVector.zero(FW), a1 = a0, a2 = a0, a3 = a0;
        int x0 = t * cols;
        for (int b = 0; b < blocks; b++) {
            int o = b * 32, h = o + 16;
            FloatVector y = FloatVector.fromArray(FW, xs, x0 + o), z = FloatVector.fromArray(FW, xs, x0 + h);
            FloatVector p0 = FloatVector.fromArray(FW, w0, o).mul(y);
            FloatVector p1 = FloatVector.fromArray(FW, w1, o).mul(y);
            FloatVector p2 = FloatVector.fromArray(FW, w2, o).mul(y);
            FloatVector p3 = FloatVector.fromArray(FW, w3, o).mul(y);
            p0 = FloatVector.fromArray(FW, w0, h).fma(z, p0);
            p1 = FloatVector.fromArray(FW, w1, h).fma(z, p1);
            p2 = FloatVector.fromArray(FW, w2, h).fma(z, p2);
            p3 = FloatVector.fromArray(FW, w3, h).fma(z, p3);
            a0 = p0.fma(FloatVector.broadcast(FW, sc[b]), a0);
            a1 = p1.fma(FloatVector.broadcast(FW, sc[blocks + b]), a1);
            a2 = p2.fma(FloatVector.broadcast(FW, sc[2 * blocks + b]), a2);
            a3 = p3.fma(FloatVector.broadcast(FW, sc[3 * blocks + b]), a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, 16);
        a2.intoArray(lanes, 32);
        a3.intoArray(lanes, 48);
        for (int i = 0; i < 4; i++) out[oo + i] = MatMul.sum(lanes, i * 16);
    }

    /**
     * Rows r..r+3 against tokens t..t+2 with 512-bit vectors (12 accumulators and 12 block sums in 32 registers):
     * out[oo + j * stride + i] for row r+i and token t+j; pair (i, j)'s block scales at {@code (i * 3 + j) * blocks}.
     */
    private static void wideTile4x3(
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] sc,
            int blocks,
            float[] xs,
            int t,
            int cols,
            float[] out,
            int oo,
            int stride,
            float[] lanes) {
        FloatVector a00 = FloatVector.zero(FW), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
        int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols;
        for (int b = 0; b < blocks; b++) {
            int o = b * 32, h = o + 16;
            FloatVector u0 = FloatVector.fromArray(FW, w0, o), u1 = FloatVector.fromArray(FW, w1, o);
            FloatVector u2 = FloatVector.fromArray(FW, w2, o), u3 = FloatVector.fromArray(FW, w3, o);
            FloatVector y = FloatVector.fromArray(FW, xs, x0 + o);
            FloatVector p00 = u0.mul(y), p10 = u1.mul(y), p20 = u2.mul(y), p30 = u3.mul(y);
            y = FloatVector.fromArray(FW, xs, x1 + o);
            FloatVector p01 = u0.mul(y), p11 = u1.mul(y), p21 = u2.mul(y), p31 = u3.mul(y);
            y = FloatVector.fromArray(FW, xs, x2 + o);
            FloatVector p02 = u0.mul(y), p12 = u1.mul(y), p22 = u2.mul(y), p32 = u3.mul(y);
            u0 = FloatVector.fromArray(FW, w0, h);
            u1 = FloatVector.fromArray(FW, w1, h);
            u2 = FloatVector.fromArray(FW, w2, h);
            u3 = FloatVector.fromArray(FW, w3, h);
            y = FloatVector.fromArray(FW, xs, x0 + h);
            p00 = u0.fma(y, p00);
            p10 = u1.fma(y, p10);
            p20 = u2.fma(y, p20);
            p30 = u3.fma(y, p30);
            y = FloatVector.fromArray(FW, xs, x1 + h);
            p01 = u0.fma(y, p01);
            p11 = u1.fma(y, p11);
            p21 = u2.fma(y, p21);
            p31 = u3.fma(y, p31);
            y = FloatVector.fromArray(FW, xs, x2 + h);
            p02 = u0.fma(y, p02);
            p12 = u1.fma(y, p12);
            p22 = u2.fma(y, p22);
            p32 = u3.fma(y, p32);
            a00 = p00.fma(FloatVector.broadcast(FW, sc[b]), a00);
            a01 = p01.fma(FloatVector.broadcast(FW, sc[blocks + b]), a01);
            a02 = p02.fma(FloatVector.broadcast(FW, sc[2 * blocks + b]), a02);
            a10 = p10.fma(FloatVector.broadcast(FW, sc[3 * blocks + b]), a10);
            a11 = p11.fma(FloatVector.broadcast(FW, sc[4 * blocks + b]), a11);
            a12 = p12.fma(FloatVector.broadcast(FW, sc[5 * blocks + b]), a12);
            a20 = p20.fma(FloatVector.broadcast(FW, sc[6 * blocks + b]), a20);
            a21 = p21.fma(FloatVector.broadcast(FW, sc[7 * blocks + b]), a21);
            a22 = p22.fma(FloatVector.broadcast(FW, sc[8 * blocks + b]), a22);
            a30 = p30.fma(FloatVector.broadcast(FW, sc[9 * blocks + b]), a30);
            a31 = p31.fma(FloatVector.broadcast(FW, sc[10 * blocks + b]), a31);
            a32 = p32.fma(FloatVector.broadcast(FW, sc[11 * blocks + b]), a32);
        }
        // The sums in scalar code from the stored lanes (same bits as MatMul.sum): this method is too large for C2 to
        // inline twelve vector sums as well, and a vector passed to a call is boxed.
        a00.intoArray(lanes, 0);
        a10.intoArray(lanes, 16);
        a20.intoArray(lanes, 32);
        a30.intoArray(lanes, 48);
        a01.intoArray(lanes, 64);
        a11.intoArray(lanes, 80);
        a21.intoArray(lanes, 96);
        a31.intoArray(lanes, 112);
        a02.intoArray(lanes, 128);
        a12.intoArray(lanes, 144);
        a22.intoArray(lanes, 160);
        a32.intoArray(lanes, 176);
        for (int j = 0; j < 3; j++) {
            for (int i = 0; i < 4; i++) out[oo + j * stride + i] = MatMul.sum(lanes, (j * 4 + i) * 16);
        }
    }

    // ---- rows widened to floats for the multi-token tiles of MatMul ----

    /**
     * Row {@code r}'s weights as floats, {@code d * q}: exact, since an 8-bit integer times an F16 scale needs at
     * most 19 significant bits.
     */
    static void widenRow(GGMLType type, MemorySegment w, int cols, RowGroups.Layout layout, int r, float[] row) {
        if (layout.kind() == RowGroups.Kind.Q4_PAIRS) {
            q4PairWidened(w, layout, r, cols / 32, row);
            return;
        }
        long base = layout.rowStart(r), step = layout.unitStep(r);
        if (type == GGMLType.Q8_0) widenQ8Row(w, base, step, cols / 32, row);
        else widenQ4Row(w, base, step, cols / 32, row);
    }

    /**
     * The conversions stay inside each loop, with no vector handed to another method: when C2 did not inline such a
     * helper, the vector was boxed, which made widening a prompt's rows allocate several kilobytes per row.
     */
    private static void widenQ8Row(MemorySegment w, long base, long step, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) widenQ8Block(w, base + b * step, row, b * 32);
    }

    /**
     * Rows r..r+count-1 as their integers, for {@link PromptTiles}' exact block sums: row m's values as floats into
     * {@code into[from + m]}, its block scales into {@code scales[m * blocks ..]}. A Q8_0 group ({@link RowGroups})
     * is read in one pass.
     */
    static void widenIntegers(
            GGMLType type,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r,
            int count,
            float[][] into,
            int from,
            float[] scales) {
        int blocks = cols / 32;
        int m = 0;
        while (m < count) {
            if (type == GGMLType.Q8_0 && m + RowGroups.ROWS <= count && layout.groupAt(r + m)) {
                long off = layout.rowStart(r + m);
                for (int b = 0; b < blocks; b++) {
                    for (int i = 0; i < RowGroups.ROWS; i++, off += Q8_BYTES) {
                        scales[(m + i) * blocks + b] = Float.float16ToFloat(w.get(I16, off));
                        q8Integers(w, off, into[from + m + i], b * 32);
                    }
                }
                m += RowGroups.ROWS;
                continue;
            }
            if (layout.kind() == RowGroups.Kind.Q4_PAIRS) {
                q4PairIntegers(w, layout, r + m, blocks, into[from + m], scales, m * blocks);
                m++;
                continue;
            }
            long base = layout.rowStart(r + m), step = layout.unitStep(r + m);
            float[] row = into[from + m];
            for (int b = 0; b < blocks; b++) {
                long off = base + b * step;
                scales[m * blocks + b] = Float.float16ToFloat(w.get(I16, off));
                if (type == GGMLType.Q8_0) q8Integers(w, off, row, b * 32);
                else q4Integers(w, off, row, b * 32);
            }
            m++;
        }
    }

    /** A Q8_0 block's 32 integers as floats into {@code row[o .. o+32)}. */
    private static void q8Integers(MemorySegment w, long off, float[] row, int o) {
        for (int k = 0; k < 32; k += WL) {
            ((FloatVector) ByteVector.fromMemorySegment(BL, w, off + 2 + k, LE)
                            .convertShape(VectorOperators.B2F, MatMul.F, 0))
                    .intoArray(row, o + k);
        }
    }

    /** A Q4_0 block's 32 integers (nibbles less 8) as floats into {@code row[o .. o+32)}. */
    private static void q4Integers(MemorySegment w, long off, float[] row, int o) {
        for (int k = 0; k < 16; k += WL) {
            ByteVector packed = ByteVector.fromMemorySegment(BL, w, off + 2 + k, LE);
            ((FloatVector) packed.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, MatMul.F, 0))
                    .intoArray(row, o + k);
            ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                            .sub((byte) 8)
                            .convertShape(VectorOperators.B2F, MatMul.F, 0))
                    .intoArray(row, o + 16 + k);
        }
    }

    /** The block at {@code off} as floats into {@code row[o .. o+32)}; its vectors stay inside. */
    private static void widenQ8Block(MemorySegment w, long off, float[] row, int o) {
        float d = Float.float16ToFloat(w.get(I16, off));
        for (int k = 0; k < 32; k += WL) {
            ((FloatVector) ByteVector.fromMemorySegment(BL, w, off + 2 + k, LE)
                            .convertShape(VectorOperators.B2F, MatMul.F, 0))
                    .mul(d)
                    .intoArray(row, o + k);
        }
    }

    /**
     * The four rows of a Q8_0 group ({@link RowGroups}) starting at {@code base} widened as {@link #widenQ8Row}
     * widens each, in one pass over the group: four passes, each reading every fourth block, made the first of them
     * wait on memory for every block.
     */
    static void widenQ8Group(MemorySegment w, long base, int blocks, float[] w0, float[] w1, float[] w2, float[] w3) {
        long off = base;
        for (int b = 0; b < blocks; b++, off += RowGroups.ROWS * Q8_BYTES) {
            widenQ8Block(w, off, w0, b * 32);
            widenQ8Block(w, off + Q8_BYTES, w1, b * 32);
            widenQ8Block(w, off + 2 * Q8_BYTES, w2, b * 32);
            widenQ8Block(w, off + 3 * Q8_BYTES, w3, b * 32);
        }
    }

    /** Byte i of a block's 16 holds element i in its low nibble and element i + 16 in its high one, both offset by 8. */
    private static void widenQ4Row(MemorySegment w, long base, long step, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + b * step;
            float d = Float.float16ToFloat(w.get(I16, off));
            for (int k = 0; k < 16; k += WL) {
                ByteVector packed = ByteVector.fromMemorySegment(BL, w, off + 2 + k, LE);
                ((FloatVector) packed.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, MatMul.F, 0))
                        .mul(d)
                        .intoArray(row, b * 32 + k);
                ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                                .sub((byte) 8)
                                .convertShape(VectorOperators.B2F, MatMul.F, 0))
                        .mul(d)
                        .intoArray(row, b * 32 + 16 + k);
            }
        }
    }

    /** Float lanes of {@link MatMul#F}, and the bytes that widen to them. */
    private static final int WL = MatMul.F.length();

    private static final VectorSpecies<Byte> BL = WL == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
}
