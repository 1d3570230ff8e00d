package dev.catnap.engine.cpu;

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
 * Kernels for BF16 and the k-quants (Q4_K, Q5_K, Q6_K: 256-value super-blocks with per-sub-block scales), in the
 * two forms {@link MatMul} uses: a direct one-token dot product and the widening of a row to floats.
 *
 * <p>Weight values are those of {@code gguf.Dequantize}, bit for bit (same float operations in the same order:
 * {@code (d*scale)*q - dmin*min} for Q4_K and Q5_K, {@code (d*scale)*q} for Q6_K), and each dot kernel runs the same
 * FMAs in the same order as widening its row and calling {@code MatMul.dot}: a token's result does not depend on the
 * batch it is in. Packed bytes are read 16 at a time, which widens to one 16-lane or two 8-lane float vectors.
 */
final class KQuants {
    private static final VectorSpecies<Float> F = MatMul.F;
    private static final int L = F.length();
    /** Float vectors per 16 bytes. */
    private static final int P16 = 16 / L;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> HS = L == 16 ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = L == 16 ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    static final int Q4K_BYTES = 144;
    static final int Q5K_BYTES = 176;
    static final int Q6K_BYTES = 210;

    private KQuants() {
    }

    private static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static int u8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    private static ByteVector bytes(MemorySegment w, long off) {
        return ByteVector.fromMemorySegment(B16, w, off, LE);
    }

    /** Part k (of P16) of 16 small integers as floats. */
    private static FloatVector part(ByteVector q, int k) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, k);
    }

    // ---- BF16: the upper half of a float32 ----

    private static FloatVector bf16(MemorySegment w, long off) {
        return ((IntVector) ShortVector.fromMemorySegment(HS, w, off, LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float bf16Scalar(MemorySegment w, long off) {
        return Float.intBitsToFloat((w.get(I16, off) & 0xFFFF) << 16);
    }

    static void bf16Row(MemorySegment w, long base, int cols, float[] row) {
        int i = 0;
        for (int bound = F.loopBound(cols); i < bound; i += L) bf16(w, base + i * 2L).intoArray(row, i);
        for (; i < cols; i++) row[i] = bf16Scalar(w, base + i * 2L);
    }

    static float bf16Dot(MemorySegment w, long base, int cols, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) acc = bf16(w, base + i * 2L).fma(FloatVector.fromArray(F, x, xo + i), acc);
        float s = MatMul.sum(acc);
        for (; i < cols; i++) s += bf16Scalar(w, base + i * 2L) * x[xo + i];
        return s;
    }

    // ---- Q4_K and Q5_K: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32 ----

    /** The 6-bit scale of sub-block j (0..7), packed as ggml's get_scale_min_k4. */
    private static int scaleK4(MemorySegment w, long sc, int j) {
        return j < 4 ? u8(w, sc + j) & 63 : (u8(w, sc + j + 4) & 0x0F) | ((u8(w, sc + j - 4) >>> 6) << 4);
    }

    private static int minK4(MemorySegment w, long sc, int j) {
        return j < 4 ? u8(w, sc + j + 4) & 63 : (u8(w, sc + j + 4) >>> 4) | ((u8(w, sc + j) >>> 6) << 4);
    }

    /** 16 quants (q) of a sub-block, scaled: q * d - m, dotted into acc against x[xi..xi+16). */
    private static FloatVector fmaAffine(ByteVector q, FloatVector d, FloatVector m, float[] x, int xi, FloatVector acc) {
        for (int k = 0; k < P16; k++) acc = part(q, k).mul(d).sub(m).fma(FloatVector.fromArray(F, x, xi + k * L), acc);
        return acc;
    }

    private static void storeAffine(ByteVector q, FloatVector d, FloatVector m, float[] row, int ri) {
        for (int k = 0; k < P16; k++) part(q, k).mul(d).sub(m).intoArray(row, ri + k * L);
    }

    static float q4kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q4K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            long sc = off + 4;
            for (int j = 0; j < 4; j++) {
                long q = off + 16 + 32L * j;
                int xi = xo + b * 256 + 64 * j;
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j));
                FloatVector m1 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j + 1));
                ByteVector p0 = bytes(w, q);
                ByteVector p1 = bytes(w, q + 16);
                acc = fmaAffine(p0.and((byte) 0x0F), d1, m1, x, xi, acc);
                acc = fmaAffine(p1.and((byte) 0x0F), d1, m1, x, xi + 16, acc);
                acc = fmaAffine(p0.lanewise(VectorOperators.LSHR, 4), d2, m2, x, xi + 32, acc);
                acc = fmaAffine(p1.lanewise(VectorOperators.LSHR, 4), d2, m2, x, xi + 48, acc);
            }
        }
        return MatMul.sum(acc);
    }

    static void q4kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q4K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            long sc = off + 4;
            for (int j = 0; j < 4; j++) {
                long q = off + 16 + 32L * j;
                int ri = b * 256 + 64 * j;
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j));
                FloatVector m1 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j + 1));
                ByteVector p0 = bytes(w, q);
                ByteVector p1 = bytes(w, q + 16);
                storeAffine(p0.and((byte) 0x0F), d1, m1, row, ri);
                storeAffine(p1.and((byte) 0x0F), d1, m1, row, ri + 16);
                storeAffine(p0.lanewise(VectorOperators.LSHR, 4), d2, m2, row, ri + 32);
                storeAffine(p1.lanewise(VectorOperators.LSHR, 4), d2, m2, row, ri + 48);
            }
        }
    }

    /** Q5_K's fifth bits: bit {@code bit} of each qh byte, moved to bit 4. */
    private static ByteVector fifth(ByteVector qh, int bit) {
        return qh.lanewise(VectorOperators.LSHR, bit).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
    }

    static float q5kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q5K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            long sc = off + 4;
            ByteVector h0 = bytes(w, off + 16);
            ByteVector h1 = bytes(w, off + 32);
            for (int j = 0; j < 4; j++) {
                long q = off + 48 + 32L * j;
                int xi = xo + b * 256 + 64 * j;
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j));
                FloatVector m1 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j + 1));
                ByteVector p0 = bytes(w, q);
                ByteVector p1 = bytes(w, q + 16);
                acc = fmaAffine(p0.and((byte) 0x0F).or(fifth(h0, 2 * j)), d1, m1, x, xi, acc);
                acc = fmaAffine(p1.and((byte) 0x0F).or(fifth(h1, 2 * j)), d1, m1, x, xi + 16, acc);
                acc = fmaAffine(p0.lanewise(VectorOperators.LSHR, 4).or(fifth(h0, 2 * j + 1)), d2, m2, x, xi + 32, acc);
                acc = fmaAffine(p1.lanewise(VectorOperators.LSHR, 4).or(fifth(h1, 2 * j + 1)), d2, m2, x, xi + 48, acc);
            }
        }
        return MatMul.sum(acc);
    }

    static void q5kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q5K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            long sc = off + 4;
            ByteVector h0 = bytes(w, off + 16);
            ByteVector h1 = bytes(w, off + 32);
            for (int j = 0; j < 4; j++) {
                long q = off + 48 + 32L * j;
                int ri = b * 256 + 64 * j;
                FloatVector d1 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j));
                FloatVector m1 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j));
                FloatVector d2 = FloatVector.broadcast(F, d * scaleK4(w, sc, 2 * j + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * minK4(w, sc, 2 * j + 1));
                ByteVector p0 = bytes(w, q);
                ByteVector p1 = bytes(w, q + 16);
                storeAffine(p0.and((byte) 0x0F).or(fifth(h0, 2 * j)), d1, m1, row, ri);
                storeAffine(p1.and((byte) 0x0F).or(fifth(h1, 2 * j)), d1, m1, row, ri + 16);
                storeAffine(p0.lanewise(VectorOperators.LSHR, 4).or(fifth(h0, 2 * j + 1)), d2, m2, row, ri + 32);
                storeAffine(p1.lanewise(VectorOperators.LSHR, 4).or(fifth(h1, 2 * j + 1)), d2, m2, row, ri + 48);
            }
        }
    }

    // ---- Q6_K: ql[128] low nibbles, qh[64] 2-bit high parts, int8 scales[16] (one per 16 values), f16 d ----

    /**
     * The 16 six-bit quants (minus 32) that combine nibbles {@code lo} (low or high halves of ql bytes) with the
     * 2-bit field at {@code shift} of the qh bytes.
     */
    private static ByteVector six(ByteVector lo, ByteVector qh, int shift) {
        return lo.or(qh.lanewise(VectorOperators.LSHR, shift).and((byte) 3).lanewise(VectorOperators.LSHL, 4))
                .sub((byte) 32);
    }

    private static FloatVector fmaScaled(ByteVector q, FloatVector d, float[] x, int xi, FloatVector acc) {
        for (int k = 0; k < P16; k++) acc = part(q, k).mul(d).fma(FloatVector.fromArray(F, x, xi + k * L), acc);
        return acc;
    }

    private static void storeScaled(ByteVector q, FloatVector d, float[] row, int ri) {
        for (int k = 0; k < P16; k++) part(q, k).mul(d).intoArray(row, ri + k * L);
    }

    private static FloatVector q6Scale(MemorySegment w, long sc, int j, float d) {
        return FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + j));
    }

    static float q6kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q6K_BYTES;
            float d = f16(w, off + 208);
            for (int h = 0; h < 2; h++) {
                long ql = off + 64L * h;
                long qh = off + 128 + 32L * h;
                long sc = off + 192 + 8L * h;
                int xi = xo + b * 256 + 128 * h;
                ByteVector a0 = bytes(w, ql), a1 = bytes(w, ql + 16), b0 = bytes(w, ql + 32), b1 = bytes(w, ql + 48);
                ByteVector h0 = bytes(w, qh), h1 = bytes(w, qh + 16);
                acc = fmaScaled(six(a0.and((byte) 0x0F), h0, 0), q6Scale(w, sc, 0, d), x, xi, acc);
                acc = fmaScaled(six(a1.and((byte) 0x0F), h1, 0), q6Scale(w, sc, 1, d), x, xi + 16, acc);
                acc = fmaScaled(six(b0.and((byte) 0x0F), h0, 2), q6Scale(w, sc, 2, d), x, xi + 32, acc);
                acc = fmaScaled(six(b1.and((byte) 0x0F), h1, 2), q6Scale(w, sc, 3, d), x, xi + 48, acc);
                acc = fmaScaled(six(a0.lanewise(VectorOperators.LSHR, 4), h0, 4), q6Scale(w, sc, 4, d), x, xi + 64, acc);
                acc = fmaScaled(six(a1.lanewise(VectorOperators.LSHR, 4), h1, 4), q6Scale(w, sc, 5, d), x, xi + 80, acc);
                acc = fmaScaled(six(b0.lanewise(VectorOperators.LSHR, 4), h0, 6), q6Scale(w, sc, 6, d), x, xi + 96, acc);
                acc = fmaScaled(six(b1.lanewise(VectorOperators.LSHR, 4), h1, 6), q6Scale(w, sc, 7, d), x, xi + 112, acc);
            }
        }
        return MatMul.sum(acc);
    }

    static void q6kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q6K_BYTES;
            float d = f16(w, off + 208);
            for (int h = 0; h < 2; h++) {
                long ql = off + 64L * h;
                long qh = off + 128 + 32L * h;
                long sc = off + 192 + 8L * h;
                int ri = b * 256 + 128 * h;
                ByteVector a0 = bytes(w, ql), a1 = bytes(w, ql + 16), b0 = bytes(w, ql + 32), b1 = bytes(w, ql + 48);
                ByteVector h0 = bytes(w, qh), h1 = bytes(w, qh + 16);
                storeScaled(six(a0.and((byte) 0x0F), h0, 0), q6Scale(w, sc, 0, d), row, ri);
                storeScaled(six(a1.and((byte) 0x0F), h1, 0), q6Scale(w, sc, 1, d), row, ri + 16);
                storeScaled(six(b0.and((byte) 0x0F), h0, 2), q6Scale(w, sc, 2, d), row, ri + 32);
                storeScaled(six(b1.and((byte) 0x0F), h1, 2), q6Scale(w, sc, 3, d), row, ri + 48);
                storeScaled(six(a0.lanewise(VectorOperators.LSHR, 4), h0, 4), q6Scale(w, sc, 4, d), row, ri + 64);
                storeScaled(six(a1.lanewise(VectorOperators.LSHR, 4), h1, 4), q6Scale(w, sc, 5, d), row, ri + 80);
                storeScaled(six(b0.lanewise(VectorOperators.LSHR, 4), h0, 6), q6Scale(w, sc, 6, d), row, ri + 96);
                storeScaled(six(b1.lanewise(VectorOperators.LSHR, 4), h1, 6), q6Scale(w, sc, 7, d), row, ri + 112);
            }
        }
    }
}
