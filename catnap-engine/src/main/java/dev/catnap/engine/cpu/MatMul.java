package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Weight-times-activations kernels, reading the weights straight from the mapped file.
 *
 * <p>One token (decoding a single sequence) uses a direct kernel per type: each 32-value block is loaded, widened
 * to floats in registers and multiplied with the activations, with one FMA by the block scale. Several tokens
 * (prompts, batched decoding) first widen one weight row into a small per-thread buffer (values unscaled, scales
 * apart) and then run every token against it four at a time, so the widening is paid once per row instead of once
 * per token. Both paths perform the same float operations in the same order, so a token's result does not depend on
 * which tokens share its batch.
 *
 * <p>Activations stay float32; ggml instead rounds them to 8 bits for quantized weights, which is why logits agree
 * to about 1e-2 rather than bit for bit.
 */
final class MatMul {
    /** 512-bit vectors where the CPU has them (16 lanes: half a block), else 256 bits (8 lanes). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final int L = F.length();
    private static final int PARTS = 32 / L;
    /** Bytes that widen to one float vector. */
    private static final VectorSpecies<Byte> BQ = L == 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MatMul() {
    }

    static boolean supports(GGMLType type) {
        return type == GGMLType.Q8_0 || type == GGMLType.Q4_0 || type == GGMLType.F16 || type == GGMLType.F32;
    }

    /** out[t * rows + r] for r in [r0, r1), t in [0, n). Quantized types need cols % 32 == 0. */
    static void rows(GGMLType type, MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        boolean quantized = type == GGMLType.Q8_0 || type == GGMLType.Q4_0;
        if (n == 1 && type == GGMLType.Q8_0) {
            for (int r = r0; r < r1; r++) out[r] = q8Dot(w, r * (cols / 32) * 34L, cols / 32, x, 0);
            return;
        }
        if (n == 1 && type == GGMLType.Q4_0) {
            for (int r = r0; r < r1; r++) out[r] = q4Dot(w, r * (cols / 32) * 18L, cols / 32, x, 0);
            return;
        }
        float[] row = new float[cols];
        float[] scales = new float[(cols + 31) / 32];
        for (int r = r0; r < r1; r++) {
            switch (type) {
                case Q8_0 -> q8Row(w, r * (cols / 32) * 34L, cols / 32, row, scales);
                case Q4_0 -> q4Row(w, r * (cols / 32) * 18L, cols / 32, row, scales);
                case F16 -> f16Row(w, r * (long) cols * 2, cols, row);
                case F32 -> MemorySegment.copy(w, F32, r * (long) cols * 4, row, 0, cols);
                default -> throw new IllegalArgumentException("no matmul kernel for weight type " + type);
            }
            int t = 0;
            if (quantized) {
                for (; t + 4 <= n; t += 4) scaledDot4(row, scales, cols / 32, x, t * cols, cols, out, t * rows + r, rows);
                for (; t < n; t++) out[t * rows + r] = scaledDot(row, scales, cols / 32, x, t * cols);
            } else {
                for (; t + 4 <= n; t += 4) plainDot4(row, cols, x, t * cols, out, t * rows + r, rows);
                for (; t < n; t++) out[t * rows + r] = plainDot(row, cols, x, t * cols);
            }
        }
    }

    // ---- Q8_0: blocks of 32 int8 with one f16 scale, 34 bytes ----

    private static float q8Dot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 34L;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)));
            int xi = xo + b * 32;
            FloatVector p = widen(w, off + 2).mul(FloatVector.fromArray(F, x, xi));
            for (int k = 1; k < PARTS; k++) p = widen(w, off + 2 + k * L).fma(FloatVector.fromArray(F, x, xi + k * L), p);
            acc = p.fma(d, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector widen(MemorySegment w, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(BQ, w, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    private static void q8Row(MemorySegment w, long base, int blocks, float[] row, float[] scales) {
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 34L;
            scales[b] = Float.float16ToFloat(w.get(I16, off));
            for (int k = 0; k < PARTS; k++) widen(w, off + 2 + k * L).intoArray(row, b * 32 + k * L);
        }
    }

    // ---- Q4_0: 32 4-bit values (byte i: element i in the low nibble, element i+16 in the high), f16 scale, 18 bytes ----

    private static float q4Dot(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 18L;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, off)));
            ByteVector packed = ByteVector.fromMemorySegment(B16, w, off + 2, LE);
            ByteVector lo = packed.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            int xi = xo + b * 32;
            FloatVector p = nibbles(lo, hi, 0).mul(FloatVector.fromArray(F, x, xi));
            for (int k = 1; k < PARTS; k++) p = nibbles(lo, hi, k).fma(FloatVector.fromArray(F, x, xi + k * L), p);
            acc = p.fma(d, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Part k (of PARTS) of the block's 32 values: the low nibbles are values 0..15, the high ones 16..31. */
    private static FloatVector nibbles(ByteVector lo, ByteVector hi, int k) {
        int perHalf = PARTS / 2;
        ByteVector half = k < perHalf ? lo : hi;
        return (FloatVector) half.convertShape(VectorOperators.B2F, F, k % perHalf);
    }

    private static void q4Row(MemorySegment w, long base, int blocks, float[] row, float[] scales) {
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 18L;
            scales[b] = Float.float16ToFloat(w.get(I16, off));
            ByteVector packed = ByteVector.fromMemorySegment(B16, w, off + 2, LE);
            ByteVector lo = packed.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            for (int k = 0; k < PARTS; k++) nibbles(lo, hi, k).intoArray(row, b * 32 + k * L);
        }
    }

    // ---- the buffered row against activations: the same operations as q8Dot/q4Dot ----

    private static float scaledDot(float[] row, float[] scales, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            int wi = b * 32, xi = xo + wi;
            FloatVector p = FloatVector.fromArray(F, row, wi).mul(FloatVector.fromArray(F, x, xi));
            for (int k = 1; k < PARTS; k++) {
                p = FloatVector.fromArray(F, row, wi + k * L).fma(FloatVector.fromArray(F, x, xi + k * L), p);
            }
            acc = p.fma(FloatVector.broadcast(F, scales[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static void scaledDot4(float[] row, float[] scales, int blocks, float[] x, int xo, int cols, float[] out,
                                   int oo, int stride) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x1 = xo + cols, x2 = xo + 2 * cols, x3 = xo + 3 * cols;
        for (int b = 0; b < blocks; b++) {
            int wi = b * 32;
            FloatVector w = FloatVector.fromArray(F, row, wi);
            FloatVector p0 = w.mul(FloatVector.fromArray(F, x, xo + wi));
            FloatVector p1 = w.mul(FloatVector.fromArray(F, x, x1 + wi));
            FloatVector p2 = w.mul(FloatVector.fromArray(F, x, x2 + wi));
            FloatVector p3 = w.mul(FloatVector.fromArray(F, x, x3 + wi));
            for (int k = 1; k < PARTS; k++) {
                int o = wi + k * L;
                w = FloatVector.fromArray(F, row, o);
                p0 = w.fma(FloatVector.fromArray(F, x, xo + o), p0);
                p1 = w.fma(FloatVector.fromArray(F, x, x1 + o), p1);
                p2 = w.fma(FloatVector.fromArray(F, x, x2 + o), p2);
                p3 = w.fma(FloatVector.fromArray(F, x, x3 + o), p3);
            }
            FloatVector d = FloatVector.broadcast(F, scales[b]);
            a0 = p0.fma(d, a0);
            a1 = p1.fma(d, a1);
            a2 = p2.fma(d, a2);
            a3 = p3.fma(d, a3);
        }
        out[oo] = a0.reduceLanes(VectorOperators.ADD);
        out[oo + stride] = a1.reduceLanes(VectorOperators.ADD);
        out[oo + 2 * stride] = a2.reduceLanes(VectorOperators.ADD);
        out[oo + 3 * stride] = a3.reduceLanes(VectorOperators.ADD);
    }

    // ---- F16 and F32: the row widened to floats, plain dot products; a tail shorter than a vector is scalar ----

    private static void f16Row(MemorySegment w, long base, int cols, float[] row) {
        for (int i = 0; i < cols; i++) row[i] = Float.float16ToFloat(w.get(I16, base + i * 2L));
    }

    private static float plainDot(float[] row, int cols, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) acc = FloatVector.fromArray(F, row, i).fma(FloatVector.fromArray(F, x, xo + i), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) s += row[i] * x[xo + i];
        return s;
    }

    private static void plainDot4(float[] row, int cols, float[] x, int xo, float[] out, int oo, int stride) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int x1 = xo + cols, x2 = xo + 2 * cols, x3 = xo + 3 * cols;
        int bound = F.loopBound(cols);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector w = FloatVector.fromArray(F, row, i);
            a0 = w.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < cols; i++) {
            s0 += row[i] * x[xo + i];
            s1 += row[i] * x[x1 + i];
            s2 += row[i] * x[x2 + i];
            s3 += row[i] * x[x3 + i];
        }
        out[oo] = s0;
        out[oo + stride] = s1;
        out[oo + 2 * stride] = s2;
        out[oo + 3 * stride] = s3;
    }
}
