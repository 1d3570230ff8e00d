package dev.catnap.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A kernel entry point of a loaded {@link CudaModule}.
 *
 * @param name     the kernel's (extern "C") name, for messages
 * @param function the CUfunction handle; valid while its module and context are open
 */
record CudaKernel(String name, MemorySegment function) {}
