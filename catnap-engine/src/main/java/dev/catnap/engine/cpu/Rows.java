package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Dequantizes elements of a tensor to float, as ggml's {@code to_float} does. */
public final class Rows {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Rows() {
    }

    /** Elements [first, first + count) of {@code t} into {@code dst[off..]}; {@code first} must start a block. */
    public static void dequantize(GGUFTensor t, long first, float[] dst, int off, int count) {
        MemorySegment s = t.data();
        switch (t.type()) {
            case F32 -> {
                for (int i = 0; i < count; i++) dst[off + i] = s.get(F32, (first + i) * 4);
            }
            case F16 -> {
                for (int i = 0; i < count; i++) dst[off + i] = Float.float16ToFloat(s.get(I16, (first + i) * 2));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst[off + i] = Float.intBitsToFloat(s.get(I16, (first + i) * 2) << 16);
            }
            case Q8_0 -> {
                requireBlockStart(t, first, count);
                for (int b = 0; b < count / 32; b++) {
                    long o = (first / 32 + b) * 34;
                    float d = Float.float16ToFloat(s.get(I16, o));
                    for (int i = 0; i < 32; i++) dst[off + b * 32 + i] = d * s.get(ValueLayout.JAVA_BYTE, o + 2 + i);
                }
            }
            case Q4_0 -> {
                requireBlockStart(t, first, count);
                for (int b = 0; b < count / 32; b++) {
                    long o = (first / 32 + b) * 18;
                    float d = Float.float16ToFloat(s.get(I16, o));
                    for (int i = 0; i < 16; i++) {
                        int q = s.get(ValueLayout.JAVA_BYTE, o + 2 + i) & 0xFF;
                        dst[off + b * 32 + i] = d * ((q & 0x0F) - 8);
                        dst[off + b * 32 + i + 16] = d * ((q >>> 4) - 8);
                    }
                }
            }
            case Q4_K, Q5_K, Q6_K -> {
                if (first % 256 != 0 || count % 256 != 0) {
                    throw new IllegalArgumentException("tensor " + t.name() + ": rows of " + t.type()
                            + " must be whole super-blocks of 256");
                }
                Dequantize.dequantize(t.type(), s, first, dst, off, count);
            }
            default -> throw new IllegalArgumentException("tensor " + t.name() + " has type " + t.type()
                    + ", which this engine cannot read (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        }
    }

    /** The whole (small) tensor as a float array: norms and biases. */
    public static float[] toFloats(GGUFTensor t) {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor " + t.name() + " is too large to copy");
        float[] out = new float[(int) n];
        dequantize(t, 0, out, 0, (int) n);
        return out;
    }

    public static boolean readable(GGMLType type) {
        return switch (type) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    private static void requireBlockStart(GGUFTensor t, long first, int count) {
        if (first % 32 != 0 || count % 32 != 0) {
            throw new IllegalArgumentException("tensor " + t.name() + ": rows of " + t.type() + " must be whole blocks of 32");
        }
    }
}
