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
 * Weight-times-activations kernels, one per weight type, reading the weights straight from the mapped file.
 *
 * <p>Each kernel computes a range of output rows for a batch of activation rows. Activation rows are taken four at a
 * time, so each weight block is loaded and widened to floats once per four tokens (the tiled path that prompt
 * processing and batched decoding need); a lone token uses the one-row kernel. Both kernels accumulate in the same
 * order, so a token's result does not depend on which tokens share its batch.
 *
 * <p>Activations stay float32 and the weights are widened in registers; ggml instead rounds activations to 8 bits for
 * quantized weights, which is why logits agree to about 1e-2 rather than bit for bit.
 */
final class MatMul {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S128 = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I256 = IntVector.SPECIES_256;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private MatMul() {
    }

    static boolean supports(GGMLType type) {
        return type == GGMLType.Q8_0 || type == GGMLType.Q4_0 || type == GGMLType.F16 || type == GGMLType.F32;
    }

    /** out[t * rows + r] for r in [r0, r1), t in [0, n). */
    static void rows(GGMLType type, MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        switch (type) {
            case Q8_0 -> q8(w, cols, rows, r0, r1, x, n, out);
            case Q4_0 -> q4(w, cols, rows, r0, r1, x, n, out);
            case F16 -> f16(w, cols, rows, r0, r1, x, n, out);
            case F32 -> f32(w, cols, rows, r0, r1, x, n, out);
            default -> throw new IllegalArgumentException("no matmul kernel for weight type " + type);
        }
    }

    // ---- Q8_0: blocks of 32 int8 with one f16 scale, 34 bytes ----

    private static void q8(MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        int blocks = cols / 32;
        long rowBytes = blocks * 34L;
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                q8x4(w, base, blocks, x, t * cols, cols, out, t * rows + r, rows);
            }
            for (; t < n; t++) {
                out[t * rows + r] = q8x1(w, base, blocks, x, t * cols);
            }
        }
    }

    private static float q8x1(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 34L;
            float d = Float.float16ToFloat(w.get(F16, off));
            ByteVector q = ByteVector.fromMemorySegment(B256, w, off + 2, LE);
            int xi = xo + b * 32;
            FloatVector p = widen(q, 0).mul(FloatVector.fromArray(F, x, xi));
            p = widen(q, 1).fma(FloatVector.fromArray(F, x, xi + 8), p);
            p = widen(q, 2).fma(FloatVector.fromArray(F, x, xi + 16), p);
            p = widen(q, 3).fma(FloatVector.fromArray(F, x, xi + 24), p);
            acc = p.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static void q8x4(MemorySegment w, long base, int blocks, float[] x, int xo, int cols, float[] out,
                             int oo, int rows) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int c1 = cols, c2 = 2 * cols, c3 = 3 * cols;
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 34L;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(F16, off)));
            ByteVector q = ByteVector.fromMemorySegment(B256, w, off + 2, LE);
            FloatVector w0 = widen(q, 0), w1 = widen(q, 1), w2 = widen(q, 2), w3 = widen(q, 3);
            int xi = xo + b * 32;
            a0 = dot32(w0, w1, w2, w3, x, xi).fma(d, a0);
            a1 = dot32(w0, w1, w2, w3, x, xi + c1).fma(d, a1);
            a2 = dot32(w0, w1, w2, w3, x, xi + c2).fma(d, a2);
            a3 = dot32(w0, w1, w2, w3, x, xi + c3).fma(d, a3);
        }
        out[oo] = a0.reduceLanes(VectorOperators.ADD);
        out[oo + rows] = a1.reduceLanes(VectorOperators.ADD);
        out[oo + 2 * rows] = a2.reduceLanes(VectorOperators.ADD);
        out[oo + 3 * rows] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** The same products, in the same order, as the one-row kernels. */
    private static FloatVector dot32(FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3, float[] x, int xi) {
        FloatVector p = w0.mul(FloatVector.fromArray(F, x, xi));
        p = w1.fma(FloatVector.fromArray(F, x, xi + 8), p);
        p = w2.fma(FloatVector.fromArray(F, x, xi + 16), p);
        return w3.fma(FloatVector.fromArray(F, x, xi + 24), p);
    }

    private static FloatVector widen(ByteVector q, int part) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
    }

    // ---- Q4_0: blocks of 32 4-bit values (byte i: element i low nibble, element i+16 high nibble), 18 bytes ----

    private static void q4(MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        int blocks = cols / 32;
        long rowBytes = blocks * 18L;
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                q4x4(w, base, blocks, x, t * cols, cols, out, t * rows + r, rows);
            }
            for (; t < n; t++) {
                out[t * rows + r] = q4x1(w, base, blocks, x, t * cols);
            }
        }
    }

    private static float q4x1(MemorySegment w, long base, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 18L;
            float d = Float.float16ToFloat(w.get(F16, off));
            ByteVector packed = ByteVector.fromMemorySegment(B128, w, off + 2, LE);
            ByteVector lo = packed.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            int xi = xo + b * 32;
            FloatVector p = widen4(lo, 0).mul(FloatVector.fromArray(F, x, xi));
            p = widen4(lo, 1).fma(FloatVector.fromArray(F, x, xi + 8), p);
            p = widen4(hi, 0).fma(FloatVector.fromArray(F, x, xi + 16), p);
            p = widen4(hi, 1).fma(FloatVector.fromArray(F, x, xi + 24), p);
            acc = p.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static void q4x4(MemorySegment w, long base, int blocks, float[] x, int xo, int cols, float[] out,
                             int oo, int rows) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int c1 = cols, c2 = 2 * cols, c3 = 3 * cols;
        for (int b = 0; b < blocks; b++) {
            long off = base + b * 18L;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(F16, off)));
            ByteVector packed = ByteVector.fromMemorySegment(B128, w, off + 2, LE);
            ByteVector lo = packed.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = packed.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            FloatVector w0 = widen4(lo, 0), w1 = widen4(lo, 1), w2 = widen4(hi, 0), w3 = widen4(hi, 1);
            int xi = xo + b * 32;
            a0 = dot32(w0, w1, w2, w3, x, xi).fma(d, a0);
            a1 = dot32(w0, w1, w2, w3, x, xi + c1).fma(d, a1);
            a2 = dot32(w0, w1, w2, w3, x, xi + c2).fma(d, a2);
            a3 = dot32(w0, w1, w2, w3, x, xi + c3).fma(d, a3);
        }
        out[oo] = a0.reduceLanes(VectorOperators.ADD);
        out[oo + rows] = a1.reduceLanes(VectorOperators.ADD);
        out[oo + 2 * rows] = a2.reduceLanes(VectorOperators.ADD);
        out[oo + 3 * rows] = a3.reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector widen4(ByteVector q, int part) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
    }

    // ---- F16 and F32: plain values; columns not a multiple of 32 finish with scalar products ----

    private static void f16(MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        int vec = cols & ~31;
        long rowBytes = cols * 2L;
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                int xo = t * cols;
                for (int i = 0; i < vec; i += 32) {
                    long off = base + i * 2L;
                    FloatVector w0 = halfs(w, off), w1 = halfs(w, off + 16), w2 = halfs(w, off + 32), w3 = halfs(w, off + 48);
                    a0 = a0.add(dot32(w0, w1, w2, w3, x, xo + i));
                    a1 = a1.add(dot32(w0, w1, w2, w3, x, xo + cols + i));
                    a2 = a2.add(dot32(w0, w1, w2, w3, x, xo + 2 * cols + i));
                    a3 = a3.add(dot32(w0, w1, w2, w3, x, xo + 3 * cols + i));
                }
                FloatVector[] acc = {a0, a1, a2, a3};
                for (int k = 0; k < 4; k++) {
                    float s = acc[k].reduceLanes(VectorOperators.ADD);
                    int xk = xo + k * cols;
                    for (int i = vec; i < cols; i++) s += Float.float16ToFloat(w.get(F16, base + i * 2L)) * x[xk + i];
                    out[(t + k) * rows + r] = s;
                }
            }
            for (; t < n; t++) {
                FloatVector a = FloatVector.zero(F);
                int xo = t * cols;
                for (int i = 0; i < vec; i += 32) {
                    long off = base + i * 2L;
                    a = a.add(dot32(halfs(w, off), halfs(w, off + 16), halfs(w, off + 32), halfs(w, off + 48), x, xo + i));
                }
                float s = a.reduceLanes(VectorOperators.ADD);
                for (int i = vec; i < cols; i++) s += Float.float16ToFloat(w.get(F16, base + i * 2L)) * x[xo + i];
                out[t * rows + r] = s;
            }
        }
    }

    /**
     * Eight f16 values widened to float with integer arithmetic: rebias the exponent (15 to 127) and shift into
     * place. Subnormal halves (below 6.1e-5) become zero; weights do not depend on them.
     */
    private static FloatVector halfs(MemorySegment w, long off) {
        ShortVector h = ShortVector.fromMemorySegment(S128, w, off, LE);
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I256, 0);
        IntVector sign = i.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector em = i.and(0x7FFF);
        IntVector bits = em.add(0x1C000).lanewise(VectorOperators.LSHL, 13).or(sign);
        bits = bits.blend(sign, i.and(0x7C00).compare(VectorOperators.EQ, 0));
        return bits.reinterpretAsFloats();
    }

    private static void f32(MemorySegment w, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
        int vec = cols & ~31;
        long rowBytes = cols * 4L;
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
                int xo = t * cols;
                for (int i = 0; i < vec; i += 32) {
                    long off = base + i * 4L;
                    FloatVector w0 = floats(w, off), w1 = floats(w, off + 32), w2 = floats(w, off + 64), w3 = floats(w, off + 96);
                    a0 = a0.add(dot32(w0, w1, w2, w3, x, xo + i));
                    a1 = a1.add(dot32(w0, w1, w2, w3, x, xo + cols + i));
                    a2 = a2.add(dot32(w0, w1, w2, w3, x, xo + 2 * cols + i));
                    a3 = a3.add(dot32(w0, w1, w2, w3, x, xo + 3 * cols + i));
                }
                FloatVector[] acc = {a0, a1, a2, a3};
                for (int k = 0; k < 4; k++) {
                    float s = acc[k].reduceLanes(VectorOperators.ADD);
                    int xk = xo + k * cols;
                    for (int i = vec; i < cols; i++) s += w.get(F32, base + i * 4L) * x[xk + i];
                    out[(t + k) * rows + r] = s;
                }
            }
            for (; t < n; t++) {
                FloatVector a = FloatVector.zero(F);
                int xo = t * cols;
                for (int i = 0; i < vec; i += 32) {
                    long off = base + i * 4L;
                    a = a.add(dot32(floats(w, off), floats(w, off + 32), floats(w, off + 64), floats(w, off + 96), x, xo + i));
                }
                float s = a.reduceLanes(VectorOperators.ADD);
                for (int i = vec; i < cols; i++) s += w.get(F32, base + i * 4L) * x[xo + i];
                out[t * rows + r] = s;
            }
        }
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static FloatVector floats(MemorySegment w, long off) {
        return FloatVector.fromMemorySegment(F, w, off, LE);
    }
}
