package dev.catnap.engine.cpu;

import dev.catnap.engine.model.SequenceCache;

/** A sequence's keys and values on the Java heap, F32, {@code capacity * kvWidth} floats per layer and kind. */
final class HeapSequenceCache implements SequenceCache {
    final float[][] keys;
    final float[][] values;
    private final int capacity;

    HeapSequenceCache(int layers, int capacity, int kvWidth) {
        this.capacity = capacity;
        keys = new float[layers][];
        values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[capacity * kvWidth];
            values[l] = new float[capacity * kvWidth];
        }
    }

    @Override
    public int capacity() {
        return capacity;
    }
}
