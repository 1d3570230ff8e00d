package dev.catnap.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One loaded CUDA driver library (libcuda.so.1 or a stand-in such as the test emulator) with one downcall handle per
 * driver function, created once when the library is loaded.
 *
 * <p>Symbol names are the ABI names that cuda.h's {@code #define}s map to in CUDA 13 (cuMemAlloc_v2,
 * cuEventElapsedTime_v2, ...): the unversioned exports keep their 32-bit-era signatures for old binaries. Types:
 * CUresult, CUdevice and enums are {@code int}; CUdeviceptr and size_t are {@code long} (LP64); every handle is a
 * pointer.
 *
 * <p>No handle uses {@code Linker.Option.critical}: a launch or copy may block when the driver's queue is full, and a
 * critical call would hold up every safepoint meanwhile.
 *
 * <p>Immutable after construction, so one instance may be used from any thread; the driver itself is thread-safe.
 */
final class CudaDriver {

    /** CUresult values this code reacts to (cuda.h, enum cudaError_enum). */
    static final int CUDA_SUCCESS = 0;

    static final int CUDA_ERROR_INVALID_CONTEXT = 201;

    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
    /**
     * Streams are created non-blocking: a capturing blocking stream would make the legacy stream unusable for every
     * thread of the context (another model's upload included) until the capture ends. Nothing here uses the legacy
     * stream: the context's synchronous copies run on its own transfer stream and wait for it.
     */
    static final int CU_STREAM_NON_BLOCKING = 1;

    static final int CU_EVENT_DEFAULT = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MISSING;

    static {
        try {
            MISSING = MethodHandles.lookup()
                    .findStatic(
                            CudaDriver.class, "missing", MethodType.methodType(int.class, String.class, String.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String library;

    private final MethodHandle cuGetErrorName;
    private final MethodHandle cuGetErrorString;
    private final MethodHandle cuInit;
    private final MethodHandle cuDeviceGetCount;
    private final MethodHandle cuDeviceGet;
    private final MethodHandle cuDeviceGetName;
    private final MethodHandle cuDeviceTotalMem;
    private final MethodHandle cuDeviceGetAttribute;
    private final MethodHandle cuDevicePrimaryCtxRetain;
    private final MethodHandle cuDevicePrimaryCtxRelease;
    private final MethodHandle cuCtxSetCurrent;
    private final MethodHandle cuCtxSynchronize;
    private final MethodHandle cuMemGetInfo;
    private final MethodHandle cuMemAlloc;
    private final MethodHandle cuMemFree;
    private final MethodHandle cuMemAllocHost;
    private final MethodHandle cuMemFreeHost;
    private final MethodHandle cuMemcpyHtoDAsync;
    private final MethodHandle cuMemcpyDtoHAsync;
    private final MethodHandle cuMemcpyDtoDAsync;
    private final MethodHandle cuMemsetD8Async;
    private final MethodHandle cuModuleLoadData;
    private final MethodHandle cuModuleUnload;
    private final MethodHandle cuModuleGetFunction;
    private final MethodHandle cuStreamCreate;
    private final MethodHandle cuStreamDestroy;
    private final MethodHandle cuStreamSynchronize;
    private final MethodHandle cuLaunchKernel;
    private final MethodHandle cuStreamBeginCapture;
    private final MethodHandle cuStreamEndCapture;
    private final MethodHandle cuGraphInstantiateWithFlags;
    private final MethodHandle cuGraphDestroy;
    private final MethodHandle cuGraphLaunch;
    private final MethodHandle cuGraphExecDestroy;
    private final MethodHandle cuEventCreate;
    private final MethodHandle cuEventRecord;
    private final MethodHandle cuEventSynchronize;
    private final MethodHandle cuEventElapsedTime;
    private final MethodHandle cuEventDestroy;

    private CudaDriver(String library, SymbolLookup symbols) {
        this.library = library;
        cuGetErrorName = bind(symbols, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuGetErrorString = bind(symbols, "cuGetErrorString", JAVA_INT, ADDRESS);
        cuInit = bind(symbols, "cuInit", JAVA_INT);
        cuDeviceGetCount = bind(symbols, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = bind(symbols, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = bind(symbols, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = bind(symbols, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDeviceGetAttribute = bind(symbols, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDevicePrimaryCtxRetain = bind(symbols, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRelease = bind(symbols, "cuDevicePrimaryCtxRelease_v2", JAVA_INT);
        cuCtxSetCurrent = bind(symbols, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = bind(symbols, "cuCtxSynchronize");
        cuMemGetInfo = bind(symbols, "cuMemGetInfo_v2", ADDRESS, ADDRESS);
        cuMemAlloc = bind(symbols, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = bind(symbols, "cuMemFree_v2", JAVA_LONG);
        cuMemAllocHost = bind(symbols, "cuMemAllocHost_v2", ADDRESS, JAVA_LONG);
        cuMemFreeHost = bind(symbols, "cuMemFreeHost", ADDRESS);
        cuMemcpyHtoDAsync = bind(symbols, "cuMemcpyHtoDAsync_v2", JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS);
        cuMemcpyDtoHAsync = bind(symbols, "cuMemcpyDtoHAsync_v2", ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemcpyDtoDAsync = bind(symbols, "cuMemcpyDtoDAsync_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS);
        cuMemsetD8Async = bind(symbols, "cuMemsetD8Async", JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS);
        cuModuleLoadData = bind(symbols, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleUnload = bind(symbols, "cuModuleUnload", ADDRESS);
        cuModuleGetFunction = bind(symbols, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuStreamCreate = bind(symbols, "cuStreamCreate", ADDRESS, JAVA_INT);
        cuStreamDestroy = bind(symbols, "cuStreamDestroy_v2", ADDRESS);
        cuStreamSynchronize = bind(symbols, "cuStreamSynchronize", ADDRESS);
        cuLaunchKernel = bind(
                symbols,
                "cuLaunchKernel",
                ADDRESS,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                JAVA_INT,
                ADDRESS,
                ADDRESS,
                ADDRESS);
        cuStreamBeginCapture = bind(symbols, "cuStreamBeginCapture_v2", ADDRESS, JAVA_INT);
        cuStreamEndCapture = bind(symbols, "cuStreamEndCapture", ADDRESS, ADDRESS);
        cuGraphInstantiateWithFlags = bind(symbols, "cuGraphInstantiateWithFlags", ADDRESS, ADDRESS, JAVA_LONG);
        cuGraphDestroy = bind(symbols, "cuGraphDestroy", ADDRESS);
        cuGraphLaunch = bind(symbols, "cuGraphLaunch", ADDRESS, ADDRESS);
        cuGraphExecDestroy = bind(symbols, "cuGraphExecDestroy", ADDRESS);
        cuEventCreate = bind(symbols, "cuEventCreate", ADDRESS, JAVA_INT);
        cuEventRecord = bind(symbols, "cuEventRecord", ADDRESS, ADDRESS);
        cuEventSynchronize = bind(symbols, "cuEventSynchronize", ADDRESS);
        // CUDA 12.8 added the _v2 export that cuda.h maps cuEventElapsedTime to; older drivers only have the original.
        cuEventElapsedTime = symbols.find("cuEventElapsedTime_v2").isPresent()
                ? bind(symbols, "cuEventElapsedTime_v2", ADDRESS, ADDRESS, ADDRESS)
                : bind(symbols, "cuEventElapsedTime", ADDRESS, ADDRESS, ADDRESS);
        cuEventDestroy = bind(symbols, "cuEventDestroy_v2", ADDRESS);
    }

    /**
     * Loads the driver library named by {@code library}: a bare name such as {@code libcuda.so.1} goes through the
     * dynamic loader's search path, anything with a slash is a file.
     *
     * <p>The library is loaded into the global arena and never unloaded: libcuda registers process-exit handlers and
     * keeps worker threads, so unloading it under a live JVM is unsafe. The dynamic loader reference-counts repeated
     * loads of one file, so loading per probe or context costs one handle, not a second copy.
     *
     * @throws CudaException with a one-line reason when the library cannot be loaded
     */
    static CudaDriver load(String library) {
        SymbolLookup symbols;
        try {
            symbols = SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new CudaException("dlopen", notLoadable(library));
        }
        return new CudaDriver(library, symbols);
    }

    private static String notLoadable(String library) {
        if (library.equals(Cuda.DEFAULT_DRIVER)) {
            return library + " not found: the NVIDIA driver is not installed";
        }
        if (library.contains("/") && Files.isRegularFile(Path.of(library))) {
            return "CUDA driver " + library + " could not be loaded: not a shared library for this platform";
        }
        return "CUDA driver " + library + " not found";
    }

    /** How the library was named when loaded, for messages. */
    String library() {
        return library;
    }

    private MethodHandle bind(SymbolLookup symbols, String name, MemoryLayout... arguments) {
        FunctionDescriptor descriptor = FunctionDescriptor.of(JAVA_INT, arguments);
        return symbols.find(name)
                .map(address -> LINKER.downcallHandle(address, descriptor))
                .orElseGet(() -> {
                    // A driver without the symbol (too old, or a stand-in that does not implement it) still serves
                    // every other call; this one fails readably when used.
                    MethodHandle thrower = MethodHandles.insertArguments(MISSING, 0, name, library);
                    return MethodHandles.dropArguments(
                            thrower, 0, descriptor.toMethodType().parameterList());
                });
    }

    @SuppressWarnings("unused") // called through MISSING
    private static int missing(String function, String library) {
        throw new CudaException(
                function, function + " is not exported by " + library + " (an older driver, or not a CUDA driver)");
    }

    // ---- error reporting

    /** Throws the CudaException for a failed call unless {@code result} is CUDA_SUCCESS. */
    void check(int result, String call) {
        if (result != CUDA_SUCCESS) {
            throw failure(result, call);
        }
    }

    /** The exception for a failed call, with the driver's name and description of {@code result}. */
    CudaException failure(int result, String call) {
        return failure(result, call, null);
    }

    /** As {@link #failure(int, String)}, with {@code hint} (or null) appended to the driver's description. */
    CudaException failure(int result, String call, String hint) {
        String name = errorText(cuGetErrorName, result);
        String description = errorText(cuGetErrorString, result);
        description = description != null ? description : "unknown error code";
        return new CudaException(
                call,
                result,
                name != null ? name : "CUresult " + result,
                hint == null ? description : description + "; " + hint);
    }

    private static String errorText(MethodHandle lookup, int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment text = arena.allocate(ADDRESS);
            int status = (int) lookup.invokeExact(result, text);
            MemorySegment pointer = text.get(ADDRESS, 0);
            if (status != CUDA_SUCCESS || pointer.equals(MemorySegment.NULL)) {
                return null;
            }
            return pointer.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (CudaException e) {
            return null;
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    private static RuntimeException propagate(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        // Downcall handles declare Throwable but raise nothing checked.
        throw new IllegalStateException(t);
    }

    // ---- typed calls: each returns the raw CUresult so that callers word the failure with their own arguments

    int cuInit(int flags) {
        try {
            return (int) cuInit.invokeExact(flags);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDeviceGetCount(MemorySegment count) {
        try {
            return (int) cuDeviceGetCount.invokeExact(count);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDeviceGet(MemorySegment device, int ordinal) {
        try {
            return (int) cuDeviceGet.invokeExact(device, ordinal);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDeviceGetName(MemorySegment name, int length, int device) {
        try {
            return (int) cuDeviceGetName.invokeExact(name, length, device);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDeviceTotalMem(MemorySegment bytes, int device) {
        try {
            return (int) cuDeviceTotalMem.invokeExact(bytes, device);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDeviceGetAttribute(MemorySegment value, int attribute, int device) {
        try {
            return (int) cuDeviceGetAttribute.invokeExact(value, attribute, device);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDevicePrimaryCtxRetain(MemorySegment context, int device) {
        try {
            return (int) cuDevicePrimaryCtxRetain.invokeExact(context, device);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuDevicePrimaryCtxRelease(int device) {
        try {
            return (int) cuDevicePrimaryCtxRelease.invokeExact(device);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuCtxSetCurrent(MemorySegment context) {
        try {
            return (int) cuCtxSetCurrent.invokeExact(context);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuCtxSynchronize() {
        try {
            return (int) cuCtxSynchronize.invokeExact();
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemGetInfo(MemorySegment free, MemorySegment total) {
        try {
            return (int) cuMemGetInfo.invokeExact(free, total);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemAlloc(MemorySegment dptr, long bytes) {
        try {
            return (int) cuMemAlloc.invokeExact(dptr, bytes);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemFree(long dptr) {
        try {
            return (int) cuMemFree.invokeExact(dptr);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemAllocHost(MemorySegment pointer, long bytes) {
        try {
            return (int) cuMemAllocHost.invokeExact(pointer, bytes);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemFreeHost(MemorySegment pointer) {
        try {
            return (int) cuMemFreeHost.invokeExact(pointer);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuMemsetD8Async(long dst, byte value, long bytes, MemorySegment stream) {
        try {
            return (int) cuMemsetD8Async.invokeExact(dst, value, bytes, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuModuleLoadData(MemorySegment module, MemorySegment image) {
        try {
            return (int) cuModuleLoadData.invokeExact(module, image);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuModuleUnload(MemorySegment module) {
        try {
            return (int) cuModuleUnload.invokeExact(module);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuModuleGetFunction(MemorySegment function, MemorySegment module, MemorySegment name) {
        try {
            return (int) cuModuleGetFunction.invokeExact(function, module, name);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuStreamCreate(MemorySegment stream, int flags) {
        try {
            return (int) cuStreamCreate.invokeExact(stream, flags);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuStreamDestroy(MemorySegment stream) {
        try {
            return (int) cuStreamDestroy.invokeExact(stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuStreamSynchronize(MemorySegment stream) {
        try {
            return (int) cuStreamSynchronize.invokeExact(stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuLaunchKernel(
            MemorySegment function,
            int gridX,
            int gridY,
            int gridZ,
            int blockX,
            int blockY,
            int blockZ,
            int sharedMemBytes,
            MemorySegment stream,
            MemorySegment params,
            MemorySegment extra) {
        try {
            return (int) cuLaunchKernel.invokeExact(
                    function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, stream, params, extra);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuStreamBeginCapture(MemorySegment stream, int mode) {
        try {
            return (int) cuStreamBeginCapture.invokeExact(stream, mode);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuStreamEndCapture(MemorySegment stream, MemorySegment graph) {
        try {
            return (int) cuStreamEndCapture.invokeExact(stream, graph);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuGraphInstantiateWithFlags(MemorySegment exec, MemorySegment graph, long flags) {
        try {
            return (int) cuGraphInstantiateWithFlags.invokeExact(exec, graph, flags);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuGraphDestroy(MemorySegment graph) {
        try {
            return (int) cuGraphDestroy.invokeExact(graph);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuGraphLaunch(MemorySegment exec, MemorySegment stream) {
        try {
            return (int) cuGraphLaunch.invokeExact(exec, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuGraphExecDestroy(MemorySegment exec) {
        try {
            return (int) cuGraphExecDestroy.invokeExact(exec);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuEventCreate(MemorySegment event, int flags) {
        try {
            return (int) cuEventCreate.invokeExact(event, flags);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuEventRecord(MemorySegment event, MemorySegment stream) {
        try {
            return (int) cuEventRecord.invokeExact(event, stream);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuEventSynchronize(MemorySegment event) {
        try {
            return (int) cuEventSynchronize.invokeExact(event);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuEventElapsedTime(MemorySegment millis, MemorySegment start, MemorySegment end) {
        try {
            return (int) cuEventElapsedTime.invokeExact(millis, start, end);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }

    int cuEventDestroy(MemorySegment event) {
        try {
            return (int) cuEventDestroy.invokeExact(event);
        } catch (Throwable t) {
            throw propagate(t);
        }
    }
}
