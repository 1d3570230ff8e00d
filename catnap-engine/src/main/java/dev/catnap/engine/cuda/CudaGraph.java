package dev.catnap.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * An executable graph made by {@link CudaStream#endCapture()}: replaying it with {@link CudaStream#launch(CudaGraph)}
 * costs one launch however many kernels and copies were captured.
 */
final class CudaGraph extends ContextResource {

    private final MemorySegment handle;

    CudaGraph(CudaContext context, MemorySegment handle) {
        super(context, "CUDA graph");
        this.handle = handle;
    }

    /** The CUgraphExec, for a launch; throws if this graph or its context is closed. */
    MemorySegment executable() {
        ensureOpen();
        return handle;
    }

    @Override
    void destroy() {
        context.check(context.driver().cuGraphExecDestroy(handle), "cuGraphExecDestroy");
    }
}
