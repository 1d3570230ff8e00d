package dev.catnap.engine.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point to the CUDA driver API, called directly through the FFM API (no JNI, no CUDA runtime).
 *
 * <p>The driver library is {@value #DRIVER_PROPERTY} if that system property is set, else the
 * {@value #DRIVER_ENVIRONMENT} environment variable, else {@value #DEFAULT_DRIVER}. Every {@link #probe()} and
 * {@link #open(int)} loads it afresh (the dynamic loader shares the one copy), and a context keeps its own handles, so
 * there is no process-wide state to invalidate and tests can point different contexts at different drivers.
 *
 * <p>Thread-safety: {@link #probe()} and {@link #open(int)} may run from any thread. A {@link CudaContext} and the
 * streams, modules, graphs and events made from it are meant for one thread at a time (the decoder's decode thread).
 */
public final class Cuda {

    /** The system property naming the driver library: a file path or a name for the dynamic loader. */
    public static final String DRIVER_PROPERTY = "catnap.cuda.driver";
    /** The environment variable consulted when {@link #DRIVER_PROPERTY} is unset. */
    public static final String DRIVER_ENVIRONMENT = "CATNAP_CUDA_DRIVER";
    /** The NVIDIA driver's own library, found through the dynamic loader's search path. */
    public static final String DEFAULT_DRIVER = "libcuda.so.1";

    private static final int NAME_BUFFER_BYTES = 256;

    private Cuda() {}

    /**
     * Loads the driver, initialises it and lists its devices. Never throws: when CUDA cannot be used the probe has no
     * devices and a one-line reason such as {@code libcuda.so.1 not found: the NVIDIA driver is not installed}.
     */
    public static CudaProbe probe() {
        return probe(configuredDriver());
    }

    /**
     * Retains the primary context of device {@code ordinal} and makes it current on the calling thread.
     *
     * @throws CudaException with a one-line reason when the driver cannot be loaded or the device cannot be opened
     */
    public static CudaContext open(int ordinal) {
        return open(configuredDriver(), ordinal);
    }

    /** {@link #probe()} against the driver library at {@code driver}, whatever the configuration says. */
    static CudaProbe probe(Path driver) {
        return probe(driver.toString());
    }

    /** {@link #open(int)} against the driver library at {@code driver}, whatever the configuration says. */
    static CudaContext open(Path driver, int ordinal) {
        return open(driver.toString(), ordinal);
    }

    /** The driver library that {@link #probe()} and {@link #open(int)} use. */
    static String configuredDriver() {
        String property = System.getProperty(DRIVER_PROPERTY);
        if (property != null && !property.isBlank()) {
            return property.strip();
        }
        String environment = System.getenv(DRIVER_ENVIRONMENT);
        if (environment != null && !environment.isBlank()) {
            return environment.strip();
        }
        return DEFAULT_DRIVER;
    }

    private static CudaProbe probe(String library) {
        try {
            CudaDriver driver = CudaDriver.load(library);
            initialise(driver);
            int count;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(JAVA_INT);
                driver.check(driver.cuDeviceGetCount(out), "cuDeviceGetCount");
                count = out.get(JAVA_INT, 0);
            }
            if (count == 0) {
                return CudaProbe.unavailable("the CUDA driver " + library + " reports no devices");
            }
            List<CudaDevice> devices = new ArrayList<>(count);
            for (int ordinal = 0; ordinal < count; ordinal++) {
                devices.add(describe(driver, ordinal, deviceHandle(driver, ordinal)));
            }
            return CudaProbe.found(devices);
        } catch (CudaException e) {
            return CudaProbe.unavailable(e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            // A probe must answer whatever the driver did: --device cuda turns its reason into the one-line error.
            return CudaProbe.unavailable("probing the CUDA driver " + library + " failed: " + e);
        }
    }

    private static CudaContext open(String library, int ordinal) {
        CudaDriver driver = CudaDriver.load(library);
        initialise(driver);
        int handle = deviceHandle(driver, ordinal);
        CudaDevice device = describe(driver, ordinal, handle);
        MemorySegment context;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            driver.check(
                    driver.cuDevicePrimaryCtxRetain(out, handle), "cuDevicePrimaryCtxRetain(device " + ordinal + ")");
            context = out.get(ADDRESS, 0);
        }
        int current = driver.cuCtxSetCurrent(context);
        if (current != CudaDriver.CUDA_SUCCESS) {
            CudaException failure = driver.failure(current, "cuCtxSetCurrent(device " + ordinal + ")");
            driver.cuDevicePrimaryCtxRelease(handle);
            throw failure;
        }
        return new CudaContext(driver, device, handle, context);
    }

    private static void initialise(CudaDriver driver) {
        driver.check(driver.cuInit(0), "cuInit");
    }

    private static int deviceHandle(CudaDriver driver, int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            driver.check(driver.cuDeviceGet(out, ordinal), "cuDeviceGet(" + ordinal + ")");
            return out.get(JAVA_INT, 0);
        }
    }

    private static CudaDevice describe(CudaDriver driver, int ordinal, int handle) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(NAME_BUFFER_BYTES);
            driver.check(
                    driver.cuDeviceGetName(name, NAME_BUFFER_BYTES, handle), "cuDeviceGetName(device " + ordinal + ")");
            MemorySegment bytes = arena.allocate(JAVA_LONG);
            driver.check(driver.cuDeviceTotalMem(bytes, handle), "cuDeviceTotalMem(device " + ordinal + ")");
            return new CudaDevice(
                    ordinal,
                    name.getString(0),
                    bytes.get(JAVA_LONG, 0),
                    attribute(driver, arena, handle, ordinal, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                    attribute(driver, arena, handle, ordinal, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
        }
    }

    private static int attribute(CudaDriver driver, Arena arena, int handle, int ordinal, int attribute) {
        MemorySegment value = arena.allocate(JAVA_INT);
        driver.check(
                driver.cuDeviceGetAttribute(value, attribute, handle),
                "cuDeviceGetAttribute(" + attribute + ", device " + ordinal + ")");
        return value.get(JAVA_INT, 0);
    }
}
