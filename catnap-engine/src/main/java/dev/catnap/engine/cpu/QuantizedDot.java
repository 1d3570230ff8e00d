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
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q8_0 and Q4_0 weights against {@link Q8Activations}, as ggml computes them: per block of 32, the exact integer sum
 * of the products, times {@code d_weight * d_activation}, accumulated in floats.
 *
 * <p>These are the one- and two-token kernels (decoding). 16 weights and 16 activations multiply in 16-bit lanes
 * (the Vector API's nearest to {@code vpmaddwd}: the product of two 8-bit values, and the sum of two such products,
 * fit in 16 bits), adjacent lanes are added into 32-bit ones, converted to floats and scaled once per block. That is
 * about half the instructions of widening every weight to a float, and the activations read per block shrink from
 * 128 bytes to 64.
 *
 * <p>Rows of prompts go through {@link MatMul}'s float tiles instead, over {@link #widenRow} and the rounded
 * activations as floats: the float FMA units do more multiply-adds per cycle than the 16-bit path once a row is
 * widened. Those products are the same numbers, summed in another order, so the two forms agree to float rounding
 * (about 1e-7 relative), not bit for bit. Keeping them bit-identical would need the tiles to scale every block of
 * every row and token pair separately, which measured 35-40% slower than the plain tiles. Which form a row takes
 * depends on its own kind (a decoding sequence's one token, or a row of a prompt), never on the rest of the batch.
 *
 * <p>The vectors are 256 bits wide on every CPU: the 16-bit form needs a block's 32 values in two halves.
 */
final class QuantizedDot {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_128;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int Q8_BYTES = 34;
    private static final int Q4_BYTES = 18;

    private QuantizedDot() {
    }

    static boolean handles(GGMLType type) {
        return type == GGMLType.Q8_0 || type == GGMLType.Q4_0;
    }

    /**
     * out[t * stride + r] for r in [r0, r1) and tokens [0, n) of {@code x}, with the integer kernels. Rows outer,
     * tokens inner: a row comes from memory for the first token and from L1 for the others.
     */
    static void rows(GGMLType type, MemorySegment w, int cols, int r0, int r1, Q8Activations x, int n, float[] out,
                     int stride) {
        int blocks = cols / 32;
        boolean q8 = type == GGMLType.Q8_0;
        long rowBytes = (long) blocks * (q8 ? Q8_BYTES : Q4_BYTES);
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < n; t++) out[t * stride + r] = dot(q8, w, r * rowBytes, blocks, x, t);
        }
    }

    private static float dot(boolean q8, MemorySegment w, long base, int blocks, Q8Activations x, int t) {
        return q8 ? q8Dot(w, base, blocks, x.q, x.d, t * blocks * 32, t * blocks)
                : q4Dot(w, base, blocks, x.q, x.d, t * blocks * 32, t * blocks);
    }

    // ---- integer kernels: one weight row against one activation row ----

    static float q8Dot(MemorySegment w, long base, int blocks, short[] xq, float[] xd, int xo, int bo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q8_BYTES;
            int o = xo + b * 32;
            ShortVector p = shorts(w, off + 2).mul(ShortVector.fromArray(S, xq, o))
                    .add(shorts(w, off + 18).mul(ShortVector.fromArray(S, xq, o + 16)));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = pairSums(p).fma(FloatVector.broadcast(F, d), acc);
        }
        return sum(acc);
    }

    static float q4Dot(MemorySegment w, long base, int blocks, short[] xq, float[] xd, int xo, int bo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * (long) Q4_BYTES;
            int o = xo + b * 32;
            ShortVector packed = shorts(w, off + 2);
            ShortVector p = low(packed).mul(ShortVector.fromArray(S, xq, o))
                    .add(high(packed).mul(ShortVector.fromArray(S, xq, o + 16)));
            float d = Float.float16ToFloat(w.get(I16, off)) * xd[bo + b];
            acc = pairSums(p).fma(FloatVector.broadcast(F, d), acc);
        }
        return sum(acc);
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
        IntVector sum = i.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(i.lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) sum.convert(VectorOperators.I2F, 0);
    }

    // ---- rows widened to floats for the multi-token tiles of MatMul ----

    /**
     * Row {@code r}'s weights as floats, {@code d * q}: exact, since an 8-bit integer times an F16 scale needs at
     * most 19 significant bits.
     */
    static void widenRow(GGMLType type, MemorySegment w, int cols, int r, float[] row) {
        int blocks = cols / 32;
        if (type == GGMLType.Q8_0) {
            long base = r * (long) blocks * Q8_BYTES;
            for (int b = 0; b < blocks; b++) {
                long off = base + b * (long) Q8_BYTES;
                float d = Float.float16ToFloat(w.get(I16, off));
                floats(shorts(w, off + 2), d, row, b * 32);
                floats(shorts(w, off + 18), d, row, b * 32 + 16);
            }
        } else {
            long base = r * (long) blocks * Q4_BYTES;
            for (int b = 0; b < blocks; b++) {
                long off = base + b * (long) Q4_BYTES;
                float d = Float.float16ToFloat(w.get(I16, off));
                ShortVector packed = shorts(w, off + 2);
                floats(low(packed), d, row, b * 32);
                floats(high(packed), d, row, b * 32 + 16);
            }
        }
    }

    /** 16 integers times {@code d}, into {@code dst[o .. o+16)}. */
    static void floats(ShortVector v, float d, float[] dst, int o) {
        ((FloatVector) v.convertShape(VectorOperators.S2F, F, 0)).mul(d).intoArray(dst, o);
        ((FloatVector) v.convertShape(VectorOperators.S2F, F, 1)).mul(d).intoArray(dst, o + 8);
    }

    /** The lanes added in a fixed pairwise order, as {@link MatMul#sum} does (the same bits in every code tier). */
    static float sum(FloatVector v) {
        v = v.add(v.rearrange(ROTATE_4));
        v = v.add(v.rearrange(ROTATE_2));
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    private static final VectorShuffle<Float> ROTATE_4 = VectorShuffle.iota(F, 4, 1, true);
    private static final VectorShuffle<Float> ROTATE_2 = VectorShuffle.iota(F, 2, 1, true);
    private static final VectorShuffle<Float> ROTATE_1 = VectorShuffle.iota(F, 1, 1, true);
}
