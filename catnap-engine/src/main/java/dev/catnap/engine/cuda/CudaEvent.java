package dev.catnap.engine.cuda;

import java.lang.foreign.MemorySegment;

/** A recorded point in a stream, for timing with {@link CudaStream#millisBetween}; close it when done. */
final class CudaEvent implements AutoCloseable, ContextResource {

    private final CudaContext context;
    private final MemorySegment handle;
    private volatile boolean closed;

    CudaEvent(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    CudaContext context() {
        return context;
    }

    /** The CUevent; throws if this event or its context is closed. */
    MemorySegment handle() {
        if (closed) {
            throw new IllegalStateException("the CUDA event is closed");
        }
        return handle;
    }

    /** Destroys the event (cuEventDestroy). Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        context.forget(this);
        releaseWithContext();
    }

    @Override
    public void releaseWithContext() {
        if (closed) {
            return;
        }
        closed = true;
        context.check(context.driver().cuEventDestroy(handle), "cuEventDestroy");
    }
}
