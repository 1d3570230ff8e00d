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
 * Kernels for BF16 and the k-quants (Q4_K, Q5_K, Q6_K: 256-value super-blocks with per-sub-block scales), in the
 * two forms {@link MatMul} uses: a direct one-token dot product and the widening of a row to floats.
 *
 * <p>Weight values are those of {@code gguf.Dequantize}, bit for bit (same float operations in the same order:
 * {@code (d*scale)*q - dmin*min} for Q4_K and Q5_K, {@code (d*scale)*q} for Q6_K), and each dot kernel runs the same
 * FMAs in the same order as widening its row and calling {@code MatMul.dot}: a token's result does not depend on the
 * batch it is in. Packed bytes are read 16 at a time, which widens to one 16-lane or two 8-lane vectors.
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

    static final int Q4K_BYTES = GGMLType.Q4_K.blockBytes();
    static final int Q5K_BYTES = GGMLType.Q5_K.blockBytes();
    static final int Q6K_BYTES = GGMLType.Q6_K.blockBytes();

    private KQuants() {}

    private static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static int u8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /**
     * Part k (of P16) of the 16 bytes at {@code off}, sign-extended to ints. The bit fields are cut out after widening:
     * shifts of 32-bit lanes are single instructions, while x86 has no byte shifts and the JIT emulates them; cutting
     * them out of byte vectors measured several times slower.
     */
    private static IntVector ints(MemorySegment w, long off, int k) {
        return (IntVector) ByteVector.fromMemorySegment(B16, w, off, LE).convertShape(VectorOperators.B2I, I, k);
    }

    private static FloatVector floats(IntVector q) {
        return (FloatVector) q.convertShape(VectorOperators.I2F, F, 0);
    }

    // ---- BF16: the upper half of a float32 ----

    private static FloatVector bf16(MemorySegment w, long off) {
        return ((IntVector) ShortVector.fromMemorySegment(HS, w, off, LE).convertShape(VectorOperators.S2I, I, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    private static float bf16Scalar(MemorySegment w, long off) {
        return Float.intBitsToFloat((w.get(I16, off) & 0xFFFF) << 16);
    }

    static void bf16Row(MemorySegment w, long base, int cols, float[] row) {
        int i = 0;
        for (int bound = F.loopBound(cols); i < bound; i += L)
            bf16(w, base + i * 2L).intoArray(row, i);
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

    /**
     * Sub-block g (0..7) of 32 values, part k (of P16) of its half c (0, 1): the low (g even) or high (g odd)
     * nibbles of the 16 bytes at {@code qs + 32 * (g / 2) + 16 * c}.
     */
    private static IntVector nibbles4(MemorySegment w, long qs, int g, int c, int k) {
        return ints(w, qs + 32L * (g >> 1) + 16L * c, k)
                .lanewise(VectorOperators.LSHR, 4 * (g & 1))
                .and(0x0F);
    }

    /** Q5_K's fifth bits for the same values: bit g of the qh bytes at {@code qh + 16 * c}, moved to bit 4. */
    private static IntVector fifth(MemorySegment w, long qh, int g, int c, int k) {
        return ints(w, qh + 16L * c, k).lanewise(VectorOperators.LSHR, g).and(1).lanewise(VectorOperators.LSHL, 4);
    }

    // Loops over sub-blocks with one call site each: the same kernels unrolled by hand (one call per sub-block)
    // measured several times slower once compiled.

    static float q4kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q4K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            for (int g = 0; g < 8; g++) {
                FloatVector dg = FloatVector.broadcast(F, d * scaleK4(w, off + 4, g));
                FloatVector mg = FloatVector.broadcast(F, dmin * minK4(w, off + 4, g));
                for (int c = 0; c < 2; c++) {
                    int xi = xo + b * 256 + g * 32 + c * 16;
                    for (int k = 0; k < P16; k++) {
                        FloatVector v =
                                floats(nibbles4(w, off + 16, g, c, k)).mul(dg).sub(mg);
                        acc = v.fma(FloatVector.fromArray(F, x, xi + k * L), acc);
                    }
                }
            }
        }
        return MatMul.sum(acc);
    }

    static void q4kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q4K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            for (int g = 0; g < 8; g++) {
                FloatVector dg = FloatVector.broadcast(F, d * scaleK4(w, off + 4, g));
                FloatVector mg = FloatVector.broadcast(F, dmin * minK4(w, off + 4, g));
                for (int c = 0; c < 2; c++) {
                    int ri = b * 256 + g * 32 + c * 16;
                    for (int k = 0; k < P16; k++) {
                        floats(nibbles4(w, off + 16, g, c, k)).mul(dg).sub(mg).intoArray(row, ri + k * L);
                    }
                }
            }
        }
    }

    static float q5kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q5K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            for (int g = 0; g < 8; g++) {
                FloatVector dg = FloatVector.broadcast(F, d * scaleK4(w, off + 4, g));
                FloatVector mg = FloatVector.broadcast(F, dmin * minK4(w, off + 4, g));
                for (int c = 0; c < 2; c++) {
                    int xi = xo + b * 256 + g * 32 + c * 16;
                    for (int k = 0; k < P16; k++) {
                        IntVector q = nibbles4(w, off + 48, g, c, k).or(fifth(w, off + 16, g, c, k));
                        acc = floats(q).mul(dg).sub(mg).fma(FloatVector.fromArray(F, x, xi + k * L), acc);
                    }
                }
            }
        }
        return MatMul.sum(acc);
    }

    static void q5kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q5K_BYTES;
            float d = f16(w, off);
            float dmin = f16(w, off + 2);
            for (int g = 0; g < 8; g++) {
                FloatVector dg = FloatVector.broadcast(F, d * scaleK4(w, off + 4, g));
                FloatVector mg = FloatVector.broadcast(F, dmin * minK4(w, off + 4, g));
                for (int c = 0; c < 2; c++) {
                    int ri = b * 256 + g * 32 + c * 16;
                    for (int k = 0; k < P16; k++) {
                        IntVector q = nibbles4(w, off + 48, g, c, k).or(fifth(w, off + 16, g, c, k));
                        floats(q).mul(dg).sub(mg).intoArray(row, ri + k * L);
                    }
                }
            }
        }
    }

    // ---- Q6_K: ql[128] low nibbles, qh[64] 2-bit high parts, int8 scales[16] (one per 16 values), f16 d ----

    /**
     * Values 16s..16s+15 (s = 0..15, scaled by scales[s]) of a Q6_K super-block, as quants minus 32. In ggml's layout,
     * group g = s % 8 of half s / 8 takes the low (g < 4) or high nibbles of the 16 ql bytes at 16 * (g % 4), and
     * bits 2 * (g / 2) and up of the 16 qh bytes at 16 * (g % 2).
     */
    private static IntVector six(MemorySegment w, long off, int s, int k) {
        int half = s >> 3, g = s & 7;
        long ql = off + 64L * half + 16L * (g & 3);
        long qh = off + 128 + 32L * half + 16L * (g & 1);
        IntVector lo = ints(w, ql, k).lanewise(VectorOperators.LSHR, g & 4).and(0x0F);
        IntVector hi = ints(w, qh, k)
                .lanewise(VectorOperators.LSHR, 2 * (g >> 1))
                .and(3)
                .lanewise(VectorOperators.LSHL, 4);
        return lo.or(hi).sub(32);
    }

    static float q6kDot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q6K_BYTES;
            float d = f16(w, off + 208);
            for (int s = 0; s < 16; s++) {
                FloatVector ds = FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, off + 192 + s));
                int xi = xo + b * 256 + s * 16;
                for (int k = 0; k < P16; k++) {
                    acc = floats(six(w, off, s, k)).mul(ds).fma(FloatVector.fromArray(F, x, xi + k * L), acc);
                }
            }
        }
        return MatMul.sum(acc);
    }

    static void q6kRow(MemorySegment w, long base, int blocks, float[] row) {
        for (int b = 0; b < blocks; b++) {
            long off = base + (long) b * Q6K_BYTES;
            float d = f16(w, off + 208);
            for (int s = 0; s < 16; s++) {
                FloatVector ds = FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, off + 192 + s));
                int ri = b * 256 + s * 16;
                for (int k = 0; k < P16; k++) floats(six(w, off, s, k)).mul(ds).intoArray(row, ri + k * L);
            }
        }
    }
}
