package dev.catnap.engine.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

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
            MemorySegment cName = arena.allocateFrom(name);
            return new CudaKernel(
                    name,
                    context.returned(
                            "cuModuleGetFunction(\"" + name + "\")",
                            out -> context.driver().cuModuleGetFunction(out, handle, cName)));
        }
    }

    @Override
    void destroy() {
        context.check(context.driver().cuModuleUnload(handle), "cuModuleUnload");
    }
}
