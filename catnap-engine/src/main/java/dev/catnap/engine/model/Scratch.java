package dev.catnap.engine.model;

/** Growable work buffers, reused across forward passes of one model. */
final class Scratch {
    private float[][] buffers = new float[8][];

    float[] get(int slot, int size) {
        float[] b = buffers[slot];
        if (b == null || b.length < size) {
            b = new float[Math.max(size, b == null ? 0 : b.length + b.length / 2)];
            buffers[slot] = b;
        }
        return b;
    }
}
