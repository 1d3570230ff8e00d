package dev.catnap.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * An executable graph made by {@link CudaStream#endCapture()}: replaying it with {@link CudaStream#launch(CudaGraph)}
 * costs one launch however many kernels and copies were captured.
 */
final class CudaGraph implements AutoCloseable, ContextResource {

    private final CudaContext context;
    private final MemorySegment handle;
    private volatile boolean closed;

    CudaGraph(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    /** The CUgraphExec, for a launch; throws if this graph or its context is closed. */
    MemorySegment executable() {
        if (closed) {
            throw new IllegalStateException("the CUDA graph is closed");
        }
        return handle;
    }

    /** Destroys the executable graph (cuGraphExecDestroy). Idempotent. */
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
        context.check(context.driver().cuGraphExecDestroy(handle), "cuGraphExecDestroy");
    }
}
