package dev.catnap.engine.cuda;

import java.io.Serial;

/**
 * A CUDA driver call that failed, worded as one line: {@code cuMemAlloc(2147483648 bytes) failed:
 * CUDA_ERROR_OUT_OF_MEMORY (out of memory)}.
 *
 * <p>Failures that happen before the driver can answer (the library cannot be loaded, or lacks a function) carry
 * {@link #NOT_A_DRIVER_RESULT} as their result and an empty error name.
 */
public final class CudaException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The {@link #result()} of a failure that the driver did not report (no CUresult is negative). */
    public static final int NOT_A_DRIVER_RESULT = -1;

    private final String call;
    private final int result;
    private final String errorName;

    /** A failed driver call: {@code call} is the function with its salient arguments, e.g. {@code cuMemAlloc(64 bytes)}. */
    CudaException(String call, int result, String errorName, String errorDescription) {
        super(call + " failed: " + errorName + " (" + errorDescription + ")");
        this.call = call;
        this.result = result;
        this.errorName = errorName;
    }

    /** A failure around the driver rather than inside it; {@code message} is the whole line. */
    CudaException(String call, String message) {
        super(message);
        this.call = call;
        this.result = NOT_A_DRIVER_RESULT;
        this.errorName = "";
    }

    /** The driver function (with its salient arguments) that failed, e.g. {@code cuModuleGetFunction("rmsnorm")}. */
    public String call() {
        return call;
    }

    /** The CUresult code, or {@link #NOT_A_DRIVER_RESULT}. */
    public int result() {
        return result;
    }

    /** The CUresult's name from cuGetErrorName, e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}; empty when not a driver result. */
    public String errorName() {
        return errorName;
    }
}
