package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;

/** Dequantizes elements of a tensor to float, as ggml's {@code to_float} does. */
public final class Rows {
    private Rows() {
    }

    /** Elements [first, first + count) of {@code t} into {@code dst[off..]}; {@code first} must start a block. */
    public static void dequantize(GGUFTensor t, long first, float[] dst, int off, int count) {
        GGMLType type = t.type();
        if (!readable(type)) {
            throw new IllegalArgumentException("tensor " + t.name() + " has type " + type
                    + ", which this engine cannot read (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
        }
        int block = type.blockSize();
        if (first % block != 0 || count % block != 0) {
            throw new IllegalArgumentException("tensor " + t.name() + ": rows of " + type + " must be whole "
                    + (block == 256 ? "super-blocks" : "blocks") + " of " + block);
        }
        Dequantize.dequantize(type, t.data(), first, dst, off, count);
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
}
