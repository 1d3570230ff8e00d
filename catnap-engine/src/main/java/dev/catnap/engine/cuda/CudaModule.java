package dev.catnap.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** A loaded module (PTX, cubin or fatbin); {@link CudaContext#close()} unloads it if nobody did. */
final class CudaModule extends ContextResource {

    private final MemorySegment handle;

    CudaModule(CudaContext context, MemorySegment handle) {
        super(context, "CUDA module");
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

    @Override
    void destroy() {
        context.check(context.driver().cuModuleUnload(handle), "cuModuleUnload");
    }
}
