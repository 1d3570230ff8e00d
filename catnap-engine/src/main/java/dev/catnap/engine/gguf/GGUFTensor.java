package dev.catnap.engine.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file. {@code shape} is in ggml order: {@code shape[0]} is the contiguous axis, so a matrix of
 * shape {@code [cols, rows]} has {@code rows} rows of {@code cols} values. {@code data} is a slice of the memory-mapped
 * file, never a copy.
 */
public record GGUFTensor(String name, GGMLType type, long[] shape, MemorySegment data) {
    public GGUFTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int dims() {
        return shape.length;
    }

    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
