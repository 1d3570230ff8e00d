package dev.catnap.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * The primary context of one device, and the owner of everything allocated through it: {@link #close()} frees device
 * memory, pinned host memory, modules, streams, graphs and events that are still live, then releases the context.
 *
 * <p>Device pointers are plain {@code long}s (CUdeviceptr). Pinned host memory comes back as a segment bound to its
 * own arena, so touching it after {@link #freeHost} or {@link #close()} is an IllegalStateException, not a crash.
 *
 * <p>Thread-safety: the driver calls need this context current on the calling thread; {@link Cuda#open} makes it
 * current on the opening thread, and a thread that takes over (the decode thread) calls {@link #makeCurrent()} once.
 * Allocation bookkeeping is synchronized, so allocating and closing from different threads is safe, but streams and
 * the objects made from them are meant for one thread at a time.
 */
public final class CudaContext implements AutoCloseable {

    /**
     * Synchronous copies go in pieces of this size: the driver stages pageable memory (and a mapped GGUF file is
     * pageable, faulted in from disk during the copy) through its own pinned buffers, so one call per piece keeps each
     * call short, and a failure names the offset it stopped at.
     */
    static final long COPY_CHUNK_BYTES = 64L << 20;

    private static final int ELF_MAGIC = 0x464C457F; // "\x7fELF", read little-endian
    private static final int FATBIN_MAGIC = 0xBA55ED50; // fatbin file header

    private final CudaDriver driver;
    private final CudaDevice device;
    private final int deviceHandle;
    private final MemorySegment handle;

    private final Set<Long> deviceAllocations = new HashSet<>();
    private final Map<Long, Arena> pinnedAllocations = new HashMap<>();
    private final Set<ContextResource> resources = new LinkedHashSet<>();
    private volatile boolean closed;
    private CudaStream transfers;

    CudaContext(CudaDriver driver, CudaDevice device, int deviceHandle, MemorySegment handle) {
        this.driver = driver;
        this.device = device;
        this.deviceHandle = deviceHandle;
        this.handle = handle;
    }

    /** The device this context runs on. */
    public CudaDevice device() {
        return device;
    }

    /** Makes this context current on the calling thread (cuCtxSetCurrent); every thread that issues work needs it once. */
    public void makeCurrent() {
        ensureOpen();
        check(driver.cuCtxSetCurrent(handle), "cuCtxSetCurrent(device " + device.ordinal() + ")");
    }

    /** Allocates {@code bytes} of device memory and returns its CUdeviceptr. */
    public synchronized long alloc(long bytes) {
        ensureOpen();
        if (bytes <= 0) {
            throw new IllegalArgumentException("device allocation size must be positive: " + bytes);
        }
        long dptr;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(driver.cuMemAlloc(out, bytes), "cuMemAlloc(" + bytes + " bytes)");
            dptr = out.get(JAVA_LONG, 0);
        }
        deviceAllocations.add(dptr);
        return dptr;
    }

    /** Frees device memory that {@link #alloc} returned. */
    public synchronized void free(long dptr) {
        ensureOpen();
        if (!deviceAllocations.remove(dptr)) {
            throw new IllegalArgumentException("device pointer 0x" + Long.toHexString(dptr)
                    + " was not allocated by this context, or is already freed");
        }
        check(driver.cuMemFree(dptr), "cuMemFree(0x" + Long.toHexString(dptr) + ")");
    }

    /** Allocates {@code bytes} of page-locked host memory (cuMemAllocHost), for asynchronous copies and graph inputs. */
    public synchronized MemorySegment allocHost(long bytes) {
        ensureOpen();
        if (bytes <= 0) {
            throw new IllegalArgumentException("pinned allocation size must be positive: " + bytes);
        }
        MemorySegment pointer =
                returned("cuMemAllocHost(" + bytes + " bytes)", out -> driver.cuMemAllocHost(out, bytes));
        // A shared arena per allocation: the decode thread may not be the allocating one, and closing the arena on
        // free turns later access through the segment into an exception.
        Arena lifetime = Arena.ofShared();
        pinnedAllocations.put(pointer.address(), lifetime);
        return pointer.reinterpret(bytes, lifetime, null);
    }

    /** Frees pinned host memory that {@link #allocHost} returned; the segment becomes inaccessible. */
    public synchronized void freeHost(MemorySegment pinned) {
        ensureOpen();
        long address = pinned.address();
        Arena lifetime = pinnedAllocations.get(address);
        if (lifetime == null || !pinned.scope().equals(lifetime.scope())) {
            throw new IllegalArgumentException("host segment at 0x" + Long.toHexString(address)
                    + " was not allocated by this context's allocHost, or is already freed");
        }
        // The arena closes first: while another thread still uses the segment that fails, and nothing is freed.
        lifetime.close();
        pinnedAllocations.remove(address);
        check(
                driver.cuMemFreeHost(MemorySegment.ofAddress(address)),
                "cuMemFreeHost(0x" + Long.toHexString(address) + ")");
    }

    /**
     * Copies {@code bytes} from host memory to the device, returning when the source may be reused. {@code src} may be
     * any native segment, including a slice of a memory-mapped file.
     */
    public synchronized void copyToDevice(long dst, MemorySegment src, long bytes) {
        ensureOpen();
        checkHostRange(src, bytes, "source");
        // On the transfer stream, waited for: returns once the data is on the device, which a synchronous copy from
        // pageable memory does not promise, so kernels on any stream see it.
        CudaStream stream = transfers();
        for (long offset = 0; offset < bytes; offset += COPY_CHUNK_BYTES) {
            long chunk = Math.min(COPY_CHUNK_BYTES, bytes - offset);
            int result = driver.cuMemcpyHtoDAsync(dst + offset, src.asSlice(offset, chunk), chunk, stream.handle());
            if (result != CudaDriver.CUDA_SUCCESS) {
                throw failure(
                        result, "cuMemcpyHtoDAsync(" + chunk + " bytes at offset " + offset + " of " + bytes + ")");
            }
        }
        stream.synchronize();
    }

    /** Copies {@code bytes} from the device into host memory, returning when the copy is complete. */
    public synchronized void copyToHost(MemorySegment dst, long src, long bytes) {
        ensureOpen();
        checkHostRange(dst, bytes, "destination");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("destination segment is read-only");
        }
        CudaStream stream = transfers();
        for (long offset = 0; offset < bytes; offset += COPY_CHUNK_BYTES) {
            long chunk = Math.min(COPY_CHUNK_BYTES, bytes - offset);
            int result = driver.cuMemcpyDtoHAsync(dst.asSlice(offset, chunk), src + offset, chunk, stream.handle());
            if (result != CudaDriver.CUDA_SUCCESS) {
                throw failure(
                        result, "cuMemcpyDtoHAsync(" + chunk + " bytes at offset " + offset + " of " + bytes + ")");
            }
        }
        stream.synchronize();
    }

    /** The stream of the synchronous copies, made on first use. */
    private CudaStream transfers() {
        if (transfers == null) transfers = createStream();
        return transfers;
    }

    /**
     * Loads a module from PTX text, a cubin (ELF) or a fatbin. PTX must reach the driver NUL-terminated, so a NUL is
     * appended to text that lacks one.
     */
    public synchronized CudaModule loadModule(byte[] image) {
        ensureOpen();
        if (image.length == 0) {
            throw new IllegalArgumentException("module image is empty");
        }
        boolean binary = isBinaryImage(image);
        boolean terminate = needsTerminator(image);
        MemorySegment module;
        try (Arena arena = Arena.ofConfined()) {
            // cuModuleLoadData reads the image during the call only, so a temporary copy suffices.
            MemorySegment copy = arena.allocate(image.length + (terminate ? 1 : 0), 16);
            MemorySegment.copy(image, 0, copy, JAVA_BYTE, 0, image.length);
            module = returned(
                    "cuModuleLoadData(" + (binary ? "binary" : "PTX") + " image of " + image.length + " bytes)",
                    out -> driver.cuModuleLoadData(out, copy));
        }
        CudaModule loaded = new CudaModule(this, module);
        resources.add(loaded);
        return loaded;
    }

    /** Creates a non-blocking stream, for launches, async copies and capture. */
    public synchronized CudaStream createStream() {
        ensureOpen();
        MemorySegment stream =
                returned("cuStreamCreate", out -> driver.cuStreamCreate(out, CudaDriver.CU_STREAM_NON_BLOCKING));
        CudaStream created = new CudaStream(this, stream);
        resources.add(created);
        return created;
    }

    /** Waits for all work in this context (cuCtxSynchronize). */
    public void synchronize() {
        ensureOpen();
        check(driver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** Device memory not yet allocated by anyone, in bytes (cuMemGetInfo). */
    public long freeMemory() {
        return memoryInfo(0);
    }

    /** The device's memory as the context sees it, in bytes (cuMemGetInfo). */
    public long totalMemory() {
        return memoryInfo(1);
    }

    /**
     * Frees whatever is still allocated through this context, then releases the primary context. Idempotent. Every
     * release is attempted; the first failure is thrown with the rest suppressed.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<RuntimeException> failures = new ArrayList<>();
        // The closing thread may not be the one that used the context (a shutdown hook, a test's cleanup).
        attempt(
                failures,
                () -> check(driver.cuCtxSetCurrent(handle), "cuCtxSetCurrent(device " + device.ordinal() + ")"));
        // Queued work may still read or write the memory about to be freed.
        attempt(failures, () -> check(driver.cuCtxSynchronize(), "cuCtxSynchronize"));
        List<ContextResource> owned = new ArrayList<>(resources);
        resources.clear();
        Collections.reverse(owned);
        for (ContextResource resource : owned) {
            attempt(failures, resource::releaseWithContext);
        }
        for (long dptr : deviceAllocations) {
            attempt(failures, () -> check(driver.cuMemFree(dptr), "cuMemFree(0x" + Long.toHexString(dptr) + ")"));
        }
        deviceAllocations.clear();
        for (Map.Entry<Long, Arena> pinned : pinnedAllocations.entrySet()) {
            attempt(failures, () -> releasePinned(pinned.getKey(), pinned.getValue()));
        }
        pinnedAllocations.clear();
        attempt(
                failures,
                () -> check(
                        driver.cuDevicePrimaryCtxRelease(deviceHandle),
                        "cuDevicePrimaryCtxRelease(device " + device.ordinal() + ")"));
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    @Override
    public String toString() {
        return "CudaContext[" + device.describe() + (closed ? ", closed]" : "]");
    }

    // ---- for the streams, modules, graphs and events of this context

    CudaDriver driver() {
        return driver;
    }

    synchronized void register(ContextResource resource) {
        ensureOpen();
        resources.add(resource);
    }

    synchronized void forget(ContextResource resource) {
        resources.remove(resource);
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the CUDA context of device " + device.ordinal() + " is closed");
        }
    }

    /** Calls a driver function that hands back a handle or address through its first parameter, and checks it. */
    MemorySegment returned(String call, ToIntFunction<MemorySegment> function) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(function.applyAsInt(out), call);
            return out.get(ADDRESS, 0);
        }
    }

    /** Like {@link CudaDriver#check}, with a hint for the one mistake the driver's message does not explain. */
    void check(int result, String call) {
        if (result != CudaDriver.CUDA_SUCCESS) {
            throw failure(result, call);
        }
    }

    CudaException failure(int result, String call) {
        return result == CudaDriver.CUDA_ERROR_INVALID_CONTEXT
                ? driver.failure(result, call, "call CudaContext.makeCurrent() on this thread first")
                : driver.failure(result, call);
    }

    // ---- internals

    private long memoryInfo(int which) {
        ensureOpen();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG);
            MemorySegment total = arena.allocate(JAVA_LONG);
            check(driver.cuMemGetInfo(free, total), "cuMemGetInfo");
            return (which == 0 ? free : total).get(JAVA_LONG, 0);
        }
    }

    private void releasePinned(long address, Arena lifetime) {
        lifetime.close();
        check(
                driver.cuMemFreeHost(MemorySegment.ofAddress(address)),
                "cuMemFreeHost(0x" + Long.toHexString(address) + ")");
    }

    private static void checkHostRange(MemorySegment segment, long bytes, String role) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException(
                    role + " segment must be native memory (off-heap, pinned or mapped), not a heap array");
        }
        if (bytes < 0 || bytes > segment.byteSize()) {
            throw new IllegalArgumentException(
                    "cannot copy " + bytes + " bytes with a " + role + " segment of " + segment.byteSize() + " bytes");
        }
    }

    /** Whether {@code image} is PTX text without its NUL terminator (cubins and fatbins are passed as they are). */
    static boolean needsTerminator(byte[] image) {
        return image.length > 0 && !isBinaryImage(image) && image[image.length - 1] != 0;
    }

    private static boolean isBinaryImage(byte[] image) {
        if (image.length < 4) {
            return false;
        }
        int magic = (image[0] & 0xFF) | (image[1] & 0xFF) << 8 | (image[2] & 0xFF) << 16 | (image[3] & 0xFF) << 24;
        return magic == ELF_MAGIC || magic == FATBIN_MAGIC;
    }

    private static void attempt(List<RuntimeException> failures, Runnable release) {
        try {
            release.run();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }
}
