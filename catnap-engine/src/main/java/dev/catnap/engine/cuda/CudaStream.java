package dev.catnap.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A CUDA stream: kernel launches, asynchronous copies and memsets run in the order issued, and a run of them can be
 * captured into a {@link CudaGraph} for cheap replay.
 *
 * <p>Not thread-safe: a stream marshals kernel arguments into one reused native parameter block, so launch from one
 * thread at a time (the decode thread). Reuse is safe because the driver copies argument values at launch.
 *
 * <p>Asynchronous copies read or write host memory after the call returns (and a captured copy does so at every
 * replay): keep the segment alive until the stream is synchronized, and use pinned memory from
 * {@link CudaContext#allocHost} for copies that must really overlap or be captured.
 */
final class CudaStream extends ContextResource {

    /** Every argument slot is 8 bytes: the widest supported argument (a pointer or a long) at its natural alignment. */
    private static final long SLOT_BYTES = 8;

    private static final int INITIAL_SLOTS = 32;

    private final CudaDriver driver;
    private final MemorySegment handle;
    /** Owns the parameter blocks; shared because the creating thread need not be the launching one. */
    private final Arena parameterArena = Arena.ofShared();
    /** {@code void*[slots]}: entry i points at slot i of {@link #values}, written once. */
    private MemorySegment parameters;

    private MemorySegment values;
    private int slots;

    CudaStream(CudaContext context, MemorySegment handle) {
        super(context, "CUDA stream");
        this.driver = context.driver();
        this.handle = handle;
        growParameters(INITIAL_SLOTS);
    }

    /**
     * Launches {@code kernel} on a one-dimensional block of {@code blockX} threads with no dynamic shared memory. Each
     * argument is a {@link Long} (a device pointer or a 64-bit integer), an {@link Integer} or a {@link Float}, in the
     * kernel's parameter order.
     */
    void launch(CudaKernel kernel, int gridX, int gridY, int gridZ, int blockX, Object... args) {
        launchShared(kernel, gridX, gridY, gridZ, blockX, 1, 1, 0, args);
    }

    /** {@link #launch(CudaKernel, int, int, int, int, Object...)} with a three-dimensional block and dynamic shared memory. */
    void launchShared(
            CudaKernel kernel,
            int gridX,
            int gridY,
            int gridZ,
            int blockX,
            int blockY,
            int blockZ,
            int sharedMemBytes,
            Object... args) {
        ensureOpen();
        if (args.length > slots) {
            growParameters(Math.max(args.length, slots * 2));
        }
        for (int i = 0; i < args.length; i++) {
            long offset = i * SLOT_BYTES;
            switch (args[i]) {
                case Long value -> values.set(JAVA_LONG, offset, value);
                case Integer value -> values.set(JAVA_INT, offset, value);
                case Float value -> values.set(JAVA_FLOAT, offset, value);
                case null ->
                    throw new IllegalArgumentException("argument " + i + " of kernel " + kernel.name() + " is null");
                default ->
                    throw new IllegalArgumentException("argument " + i + " of kernel " + kernel.name() + " is a "
                            + args[i].getClass().getSimpleName() + "; use Long, Integer or Float");
            }
        }
        int result = driver.cuLaunchKernel(
                kernel.function(),
                gridX,
                gridY,
                gridZ,
                blockX,
                blockY,
                blockZ,
                sharedMemBytes,
                handle,
                parameters,
                MemorySegment.NULL);
        if (result != CudaDriver.CUDA_SUCCESS) {
            throw context.failure(
                    result,
                    "cuLaunchKernel(" + kernel.name() + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block "
                            + blockX + "x" + blockY + "x" + blockZ + ", " + args.length + " arguments)");
        }
    }

    /** Queues a host-to-device copy; {@code src} must stay valid until the copy has run. */
    void copyToDeviceAsync(long dst, MemorySegment src, long bytes) {
        ensureOpen();
        checkHostRange(src, bytes);
        check(driver.cuMemcpyHtoDAsync(dst, src, bytes, handle), "cuMemcpyHtoDAsync(" + bytes + " bytes)");
    }

    /** Queues a device-to-host copy; {@code dst} must stay valid until the copy has run. */
    void copyToHostAsync(MemorySegment dst, long src, long bytes) {
        ensureOpen();
        checkHostRange(dst, bytes);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("destination segment is read-only");
        }
        check(driver.cuMemcpyDtoHAsync(dst, src, bytes, handle), "cuMemcpyDtoHAsync(" + bytes + " bytes)");
    }

    /** Queues a device-to-device copy. */
    void copyDeviceToDeviceAsync(long dst, long src, long bytes) {
        ensureOpen();
        check(driver.cuMemcpyDtoDAsync(dst, src, bytes, handle), "cuMemcpyDtoDAsync(" + bytes + " bytes)");
    }

    /** Queues setting {@code bytes} bytes at {@code dst} to {@code value} (cuMemsetD8Async). */
    void memsetAsync(long dst, byte value, long bytes) {
        ensureOpen();
        check(driver.cuMemsetD8Async(dst, value, bytes, handle), "cuMemsetD8Async(" + bytes + " bytes)");
    }

    /** The CUstream, for the context's own copies on it. */
    MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    /** Waits until everything queued on this stream has run. */
    void synchronize() {
        ensureOpen();
        check(driver.cuStreamSynchronize(handle), "cuStreamSynchronize");
    }

    /**
     * Starts recording instead of running: work queued from now until {@link #endCapture()} becomes a graph. In
     * thread-local mode only the capturing thread is restricted: it must not synchronize or copy synchronously until
     * the capture ends.
     */
    void beginCapture() {
        ensureOpen();
        check(
                driver.cuStreamBeginCapture(handle, CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture");
    }

    /** Ends the capture and instantiates what was recorded; the graph belongs to the context, close it when done. */
    CudaGraph endCapture() {
        ensureOpen();
        MemorySegment template = context.returned("cuStreamEndCapture", out -> driver.cuStreamEndCapture(handle, out));
        MemorySegment executable;
        try {
            executable = context.returned(
                    "cuGraphInstantiateWithFlags", out -> driver.cuGraphInstantiateWithFlags(out, template, 0));
        } finally {
            // The executable graph is independent of its template.
            check(driver.cuGraphDestroy(template), "cuGraphDestroy");
        }
        CudaGraph graph = new CudaGraph(context, executable);
        context.register(graph);
        return graph;
    }

    /** Queues one replay of {@code graph}. */
    void launch(CudaGraph graph) {
        ensureOpen();
        check(driver.cuGraphLaunch(graph.executable(), handle), "cuGraphLaunch");
    }

    /** Records an event at this point of the stream, for {@link #millisBetween}; close it when done. */
    CudaEvent recordEvent() {
        ensureOpen();
        MemorySegment event =
                context.returned("cuEventCreate", out -> driver.cuEventCreate(out, CudaDriver.CU_EVENT_DEFAULT));
        CudaEvent recorded = new CudaEvent(context, event);
        context.register(recorded);
        int result = driver.cuEventRecord(event, handle);
        if (result != CudaDriver.CUDA_SUCCESS) {
            recorded.close();
            throw context.failure(result, "cuEventRecord");
        }
        return recorded;
    }

    /** Milliseconds of GPU time from {@code start} to {@code end}, waiting for {@code end} to be reached. */
    static float millisBetween(CudaEvent start, CudaEvent end) {
        CudaContext context = end.context();
        context.ensureOpen();
        CudaDriver driver = context.driver();
        context.check(driver.cuEventSynchronize(end.handle()), "cuEventSynchronize");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment millis = arena.allocate(JAVA_FLOAT);
            context.check(driver.cuEventElapsedTime(millis, start.handle(), end.handle()), "cuEventElapsedTime");
            return millis.get(JAVA_FLOAT, 0);
        }
    }

    @Override
    void destroy() {
        try {
            context.check(driver.cuStreamDestroy(handle), "cuStreamDestroy");
        } finally {
            parameterArena.close();
        }
    }

    private void growParameters(int count) {
        MemorySegment newValues = parameterArena.allocate(count * SLOT_BYTES, SLOT_BYTES);
        MemorySegment newParameters = parameterArena.allocate(ADDRESS, count);
        for (int i = 0; i < count; i++) {
            newParameters.setAtIndex(ADDRESS, i, newValues.asSlice(i * SLOT_BYTES, SLOT_BYTES));
        }
        values = newValues;
        parameters = newParameters;
        slots = count;
    }

    private void check(int result, String call) {
        context.check(result, call);
    }

    private static void checkHostRange(MemorySegment segment, long bytes) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("host segment must be native memory (off-heap, pinned or mapped)");
        }
        if (bytes < 0 || bytes > segment.byteSize()) {
            throw new IllegalArgumentException(
                    "cannot copy " + bytes + " bytes with a host segment of " + segment.byteSize() + " bytes");
        }
    }
}
