package dev.catnap.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Decodes ggml tensor data to float32, bit for bit as llama.cpp's {@code to_float} functions do (the fixtures in
 * {@code quant/} are the reference). Arithmetic is done in float in the same order as ggml's scalar code, which is
 * what makes the results identical rather than merely close.
 */
public final class Dequantize {
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK_K = 256;

    private Dequantize() {}

    /** The types {@link #dequantize} decodes. */
    public static java.util.Set<GGMLType> types() {
        var types = java.util.EnumSet.noneOf(GGMLType.class);
        for (GGMLType t : GGMLType.values()) {
            if (supports(t)) types.add(t);
        }
        return java.util.Collections.unmodifiableSet(types);
    }

    /** Whether {@link #dequantize} can decode this type. */
    public static boolean supports(GGMLType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /**
     * Decodes {@code count} values starting at element {@code firstElement} of {@code src} (data laid out in
     * {@code type}, element 0 at byte 0) into {@code dst[dstOffset..]}. The range need not be block-aligned.
     *
     * @throws IllegalArgumentException  for a type this class cannot decode (see {@link #supports})
     * @throws IndexOutOfBoundsException when the range lies outside {@code src} or {@code dst}
     */
    public static void dequantize(
            GGMLType type, MemorySegment src, long firstElement, float[] dst, int dstOffset, int count) {
        Objects.checkFromIndexSize(dstOffset, count, dst.length);
        if (!supports(type)) throw new IllegalArgumentException("cannot dequantize " + type + " tensors");
        if (firstElement < 0) throw new IndexOutOfBoundsException("negative first element " + firstElement);
        if (count == 0) return;
        int bs = type.blockSize();
        long lastBlock = (firstElement + count - 1) / bs;
        long needed = Math.multiplyExact(lastBlock + 1, (long) type.blockBytes());
        if (needed > src.byteSize()) {
            throw new IndexOutOfBoundsException("elements " + firstElement + ".." + (firstElement + count) + " of "
                    + type + " need " + needed + " bytes, the data has " + src.byteSize());
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32, firstElement * 4, dst, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++)
                    dst[dstOffset + i] = Float.float16ToFloat(src.get(I16, (firstElement + i) * 2));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst[dstOffset + i] = bf16ToFloat(src.get(I16, (firstElement + i) * 2));
            }
            default -> blocks(type, src, firstElement, dst, dstOffset, count);
        }
    }

    /** All values of a tensor; for tensors up to about 2^31 values. */
    public static float[] dequantize(GGUFTensor tensor) {
        long n = tensor.elementCount();
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(
                    "tensor " + tensor.name() + " has " + n + " values, too many for one array");
        float[] out = new float[(int) n];
        dequantize(tensor.type(), tensor.data(), 0, out, 0, out.length);
        return out;
    }

    static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    private static void blocks(
            GGMLType type, MemorySegment src, long firstElement, float[] dst, int dstOffset, int count) {
        int bs = type.blockSize();
        long block = firstElement / bs;
        int skip = (int) (firstElement % bs);
        int done = 0;
        float[] partial = null;
        while (done < count) {
            long at = block * type.blockBytes();
            if (skip == 0 && count - done >= bs) {
                block(type, src, at, dst, dstOffset + done);
                done += bs;
            } else {
                // a block cut by the start or end of the range: decode it whole, keep the part asked for
                if (partial == null) partial = new float[bs];
                block(type, src, at, partial, 0);
                int n = Math.min(bs - skip, count - done);
                System.arraycopy(partial, skip, dst, dstOffset + done, n);
                done += n;
                skip = 0;
            }
            block++;
        }
    }

    private static void block(GGMLType type, MemorySegment s, long at, float[] y, int o) {
        switch (type) {
            case Q8_0 -> q8_0(s, at, y, o);
            case Q4_0 -> q4_0(s, at, y, o);
            case Q4_1 -> q4_1(s, at, y, o);
            case Q5_0 -> q5_0(s, at, y, o);
            case Q5_1 -> q5_1(s, at, y, o);
            case Q4_K -> q4_k(s, at, y, o);
            case Q5_K -> q5_k(s, at, y, o);
            case Q6_K -> q6_k(s, at, y, o);
            default -> throw new IllegalArgumentException("cannot dequantize " + type + " tensors");
        }
    }

    private static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(I16, at));
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xff;
    }

    // block_q8_0: half d; int8 qs[32]
    private static void q8_0(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        for (int j = 0; j < 32; j++) y[o + j] = s.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d;
    }

    // block_q4_0: half d; uint8 qs[16]; low nibbles are values 0..15, high nibbles 16..31
    private static void q4_0(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 2 + j);
            y[o + j] = ((q & 0x0f) - 8) * d;
            y[o + j + 16] = ((q >>> 4) - 8) * d;
        }
    }

    // block_q4_1: half d, m; uint8 qs[16]
    private static void q4_1(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        float m = f16(s, at + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 4 + j);
            y[o + j] = (q & 0x0f) * d + m;
            y[o + j + 16] = (q >>> 4) * d + m;
        }
    }

    // block_q5_0: half d; uint32 qh (fifth bits); uint8 qs[16]
    private static void q5_0(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        int qh = s.get(I32, at + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 6 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[o + j] = (((q & 0x0f) | h0) - 16) * d;
            y[o + j + 16] = (((q >>> 4) | h1) - 16) * d;
        }
    }

    // block_q5_1: half d, m; uint32 qh; uint8 qs[16]
    private static void q5_1(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        float m = f16(s, at + 2);
        int qh = s.get(I32, at + 4);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, at + 8 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[o + j] = ((q & 0x0f) | h0) * d + m;
            y[o + j + 16] = ((q >>> 4) | h1) * d + m;
        }
    }

    /** The 6-bit scale ({@code [0]}) and min ({@code [1]}) of sub-block {@code j} in a K-quant's 12 packed bytes. */
    private static int scaleMinK4(int j, MemorySegment s, long scales, boolean min) {
        if (j < 4) {
            return min ? u8(s, scales + j + 4) & 63 : u8(s, scales + j) & 63;
        }
        return min
                ? (u8(s, scales + j + 4) >>> 4) | ((u8(s, scales + j) >>> 6) << 4)
                : (u8(s, scales + j + 4) & 0x0f) | ((u8(s, scales + j - 4) >>> 6) << 4);
    }

    // block_q4_K: half d, dmin; uint8 scales[12]; uint8 qs[128]
    private static void q4_k(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        float dmin = f16(s, at + 2);
        long scales = at + 4;
        long q = at + 16;
        int is = 0;
        for (int j = 0; j < QK_K; j += 64) {
            float d1 = d * scaleMinK4(is, s, scales, false);
            float m1 = dmin * scaleMinK4(is, s, scales, true);
            float d2 = d * scaleMinK4(is + 1, s, scales, false);
            float m2 = dmin * scaleMinK4(is + 1, s, scales, true);
            for (int l = 0; l < 32; l++) y[o++] = d1 * (u8(s, q + l) & 0x0f) - m1;
            for (int l = 0; l < 32; l++) y[o++] = d2 * (u8(s, q + l) >>> 4) - m2;
            q += 32;
            is += 2;
        }
    }

    // block_q5_K: half d, dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]
    private static void q5_k(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at);
        float dmin = f16(s, at + 2);
        long scales = at + 4;
        long qh = at + 16;
        long ql = at + 48;
        int is = 0;
        int u1 = 1, u2 = 2;
        for (int j = 0; j < QK_K; j += 64) {
            float d1 = d * scaleMinK4(is, s, scales, false);
            float m1 = dmin * scaleMinK4(is, s, scales, true);
            float d2 = d * scaleMinK4(is + 1, s, scales, false);
            float m2 = dmin * scaleMinK4(is + 1, s, scales, true);
            for (int l = 0; l < 32; l++) {
                y[o++] = d1 * ((u8(s, ql + l) & 0x0f) + ((u8(s, qh + l) & u1) != 0 ? 16 : 0)) - m1;
            }
            for (int l = 0; l < 32; l++) {
                y[o++] = d2 * ((u8(s, ql + l) >>> 4) + ((u8(s, qh + l) & u2) != 0 ? 16 : 0)) - m2;
            }
            ql += 32;
            is += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    // block_q6_K: uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d
    private static void q6_k(MemorySegment s, long at, float[] y, int o) {
        float d = f16(s, at + 208);
        long ql = at;
        long qh = at + 128;
        long sc = at + 192;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = u8(s, qh + l);
                int q1 = ((u8(s, ql + l) & 0x0f) | ((h & 3) << 4)) - 32;
                int q2 = ((u8(s, ql + l + 32) & 0x0f) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((u8(s, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((u8(s, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                y[o + l] = d * s.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
                y[o + l + 32] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
                y[o + l + 64] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
                y[o + l + 96] = d * s.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
            o += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}
