package dev.catnap.engine.model;

/**
 * The keys and values of one sequence, for every layer: {@code capacity} positions of {@code kvWidth} floats each.
 * Owned by one sequence at a time.
 */
public final class SequenceCache {
    final float[][] keys;
    final float[][] values;
    private final int capacity;

    SequenceCache(int layers, int capacity, int kvWidth) {
        this.capacity = capacity;
        keys = new float[layers][];
        values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[capacity * kvWidth];
            values[l] = new float[capacity * kvWidth];
        }
    }

    public int capacity() {
        return capacity;
    }
}
