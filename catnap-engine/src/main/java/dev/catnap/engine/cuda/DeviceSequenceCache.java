package dev.catnap.engine.cuda;

import dev.catnap.engine.model.SequenceCache;

/**
 * One sequence's keys and values in device memory, F32, laid out as the kernels expect:
 * {@code [layer][keys, values][capacity][kvWidth]}.
 */
final class DeviceSequenceCache implements SequenceCache {
    private final CudaContext context;
    private final int capacity;
    private long pointer;

    DeviceSequenceCache(CudaContext context, int layers, int capacity, int kvWidth) {
        this.context = context;
        this.capacity = capacity;
        this.pointer = context.alloc(2L * layers * capacity * kvWidth * Float.BYTES);
    }

    long pointer() {
        if (pointer == 0) throw new IllegalStateException("the sequence cache was closed");
        return pointer;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void close() {
        if (pointer != 0) {
            context.makeCurrent();
            context.free(pointer);
            pointer = 0;
        }
    }
}
