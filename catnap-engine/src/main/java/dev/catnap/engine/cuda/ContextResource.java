package dev.catnap.engine.cuda;

/** A driver object that its {@link CudaContext} destroys when the context closes first. */
interface ContextResource {

    /** Destroys the driver object unless already closed; the context has already forgotten it. */
    void releaseWithContext();
}
