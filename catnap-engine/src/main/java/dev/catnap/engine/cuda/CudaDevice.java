package dev.catnap.engine.cuda;

import java.util.Locale;
import java.util.Objects;

/**
 * One CUDA device as the driver reports it.
 *
 * @param ordinal          the driver's device index, as passed to {@link Cuda#open(int)}
 * @param name             the marketing name, e.g. {@code NVIDIA H100 80GB HBM3}
 * @param totalMemoryBytes global memory in bytes
 * @param computeMajor     compute capability major version (9 for sm_90)
 * @param computeMinor     compute capability minor version
 */
public record CudaDevice(int ordinal, String name, long totalMemoryBytes, int computeMajor, int computeMinor) {

    public CudaDevice {
        Objects.requireNonNull(name, "name");
    }

    /** One line for logs and health reports, e.g. {@code NVIDIA H100 80GB HBM3 (sm_90, 79.2 GiB)}. */
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%s (sm_%d%d, %.1f GiB)",
                name,
                computeMajor,
                computeMinor,
                totalMemoryBytes / (double) (1L << 30));
    }
}
