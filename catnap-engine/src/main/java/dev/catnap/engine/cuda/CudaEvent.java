package dev.catnap.engine.cuda;

import java.lang.foreign.MemorySegment;

/** A recorded point in a stream, for timing with {@link CudaStream#millisBetween}; close it when done. */
final class CudaEvent extends ContextResource {

    private final MemorySegment handle;

    CudaEvent(CudaContext context, MemorySegment handle) {
        super(context, "CUDA event");
        this.handle = handle;
    }

    CudaContext context() {
        return context;
    }

    /** The CUevent; throws if this event or its context is closed. */
    MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    @Override
    void destroy() {
        context.check(context.driver().cuEventDestroy(handle), "cuEventDestroy");
    }
}
