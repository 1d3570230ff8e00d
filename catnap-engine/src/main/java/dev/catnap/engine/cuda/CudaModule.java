package dev.catnap.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** A loaded module (PTX, cubin or fatbin); {@link CudaContext#close()} unloads it if nobody did. */
final class CudaModule implements AutoCloseable, ContextResource {

    private final CudaContext context;
    private final MemorySegment handle;
    private volatile boolean closed;

    CudaModule(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    /** The kernel called {@code name}, which must be declared extern "C" (or be given by its mangled name). */
    CudaKernel kernel(String name) {
        ensureOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            context.check(context.driver().cuModuleGetFunction(out, handle, arena.allocateFrom(name)),
                    "cuModuleGetFunction(\"" + name + "\")");
            return new CudaKernel(name, out.get(ADDRESS, 0));
        }
    }

    /** Unloads the module; its kernels become unusable. Idempotent. */
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
        context.check(context.driver().cuModuleUnload(handle), "cuModuleUnload");
    }

    private void ensureOpen() {
        context.ensureOpen();
        if (closed) {
            throw new IllegalStateException("the CUDA module is unloaded");
        }
    }
}
