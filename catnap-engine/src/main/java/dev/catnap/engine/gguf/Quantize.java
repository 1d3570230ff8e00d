package dev.catnap.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * Encodes float32 values into ggml types, byte for byte as llama.cpp's reference quantizers
 * ({@code quantize_row_*_ref}, as {@code llama-quantize} without an importance matrix uses them). F16 and BF16
 * round to nearest even as ggml does.
 */
public final class Quantize {
    private Quantize() {}

    /** Whether {@link #quantize} can encode this type. */
    public static boolean supports(GGMLType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 -> true;
            default -> false;
        };
    }

    /** Encodes {@code values} (a multiple of the type's block size) into a new array of {@code type.bytesFor(n)} bytes. */
    public static byte[] quantize(GGMLType type, float[] values) {
        byte[] out = new byte[Math.toIntExact(type.bytesFor(values.length))];
        quantize(type, values, 0, values.length, MemorySegment.ofArray(out), 0);
        return out;
    }

    /**
     * Encodes {@code src[srcOffset..srcOffset+count)} into {@code dst} at byte {@code dstOffset}; {@code count} must be a
     * multiple of the type's block size and {@code dst} must have room for {@code type.bytesFor(count)} bytes.
     */
    public static void quantize(
            GGMLType type, float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        Objects.checkFromIndexSize(srcOffset, count, src.length);
        if (!supports(type)) throw new IllegalArgumentException("cannot quantize to " + type);
        long bytes = type.bytesFor(count);
        Objects.checkFromIndexSize(dstOffset, bytes, dst.byteSize());
        switch (type) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, Dequantize.F32, dstOffset, count);
            case F16 -> {
                for (int i = 0; i < count; i++)
                    dst.set(Dequantize.I16, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++)
                    dst.set(Dequantize.I16, dstOffset + 2L * i, floatToBf16(src[srcOffset + i]));
            }
            default -> {
                int bs = type.blockSize();
                for (int b = 0; b < count / bs; b++) {
                    int x = srcOffset + b * bs;
                    long at = dstOffset + (long) b * type.blockBytes();
                    switch (type) {
                        case Q8_0 -> q8_0(src, x, dst, at);
                        case Q4_0 -> q4_0(src, x, dst, at);
                        case Q4_1 -> q4_1(src, x, dst, at);
                        case Q5_0 -> q5_0(src, x, dst, at);
                        case Q5_1 -> q5_1(src, x, dst, at);
                        default -> throw new AssertionError(type);
                    }
                }
            }
        }
    }

    /** ggml's fp32 to bf16: round to nearest even, NaN kept quiet. */
    static short floatToBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** C's {@code roundf}: halfway cases away from zero (Java's Math.round rounds them up). */
    private static int roundf(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    private static void half(MemorySegment dst, long at, float v) {
        dst.set(Dequantize.I16, at, Float.floatToFloat16(v));
    }

    private static void q8_0(float[] x, int o, MemorySegment dst, long at) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        half(dst, at, d);
        for (int j = 0; j < 32; j++) dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundf(x[o + j] * id));
    }

    /** The value of largest magnitude, sign kept (the first one on ties). */
    private static float signedMax(float[] x, int o) {
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    private static void q4_0(float[] x, int o, MemorySegment dst, long at) {
        float d = signedMax(x, o) / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        half(dst, at, d);
        for (int j = 0; j < 16; j++) {
            int xi0 = Math.min(15, (byte) (int) (x[o + j] * id + 8.5f));
            int xi1 = Math.min(15, (byte) (int) (x[o + 16 + j] * id + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (xi0 | (xi1 << 4)));
        }
    }

    private static void q4_1(float[] x, int o, MemorySegment dst, long at) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1.0f / d : 0.0f;
        half(dst, at, d);
        half(dst, at + 2, min);
        for (int j = 0; j < 16; j++) {
            int xi0 = Math.min(15, (byte) (int) ((x[o + j] - min) * id + 0.5f));
            int xi1 = Math.min(15, (byte) (int) ((x[o + 16 + j] - min) * id + 0.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 4 + j, (byte) (xi0 | (xi1 << 4)));
        }
    }

    private static void q5_0(float[] x, int o, MemorySegment dst, long at) {
        float d = signedMax(x, o) / -16;
        float id = d != 0 ? 1.0f / d : 0.0f;
        half(dst, at, d);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int xi0 = Math.min(31, (byte) (int) (x[o + j] * id + 16.5f));
            int xi1 = Math.min(31, (byte) (int) (x[o + 16 + j] * id + 16.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 6 + j, (byte) ((xi0 & 0x0f) | ((xi1 & 0x0f) << 4)));
            qh |= ((xi0 & 0x10) >>> 4) << j;
            qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
        }
        dst.set(Dequantize.I32, at + 2, qh);
    }

    private static void q5_1(float[] x, int o, MemorySegment dst, long at) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1.0f / d : 0.0f;
        half(dst, at, d);
        half(dst, at + 2, min);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int xi0 = (int) ((x[o + j] - min) * id + 0.5f) & 0xff;
            int xi1 = (int) ((x[o + 16 + j] - min) * id + 0.5f) & 0xff;
            dst.set(ValueLayout.JAVA_BYTE, at + 8 + j, (byte) ((xi0 & 0x0f) | ((xi1 & 0x0f) << 4)));
            qh |= ((xi0 & 0x10) >>> 4) << j;
            qh |= ((xi1 & 0x10) >>> 4) << (j + 16);
        }
        dst.set(Dequantize.I32, at + 4, qh);
    }
}
