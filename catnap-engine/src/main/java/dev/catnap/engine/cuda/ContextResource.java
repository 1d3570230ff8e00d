package dev.catnap.engine.cuda;

/**
 * A driver object owned by a {@link CudaContext}: closed by its user, or destroyed by the context when the context
 * closes first. Closing is idempotent either way, and a closed object refuses further use.
 */
abstract sealed class ContextResource implements AutoCloseable permits CudaEvent, CudaGraph, CudaModule, CudaStream {
    final CudaContext context;
    private final String what;
    private volatile boolean closed;

    /** {@code what} names the object in errors, e.g. "CUDA stream". */
    ContextResource(CudaContext context, String what) {
        this.context = context;
        this.what = what;
    }

    /** Throws IllegalStateException if this object (or its context) is closed. */
    final void ensureOpen() {
        if (closed) throw new IllegalStateException("the " + what + " is closed");
        context.ensureOpen();
    }

    @Override
    public final void close() {
        if (closed) return;
        context.forget(this);
        releaseWithContext();
    }

    /** Destroys the driver object unless already closed; the context has already forgotten it. */
    final void releaseWithContext() {
        if (closed) return;
        closed = true;
        destroy();
    }

    /** The driver call that destroys the object; runs once. */
    abstract void destroy();
}
