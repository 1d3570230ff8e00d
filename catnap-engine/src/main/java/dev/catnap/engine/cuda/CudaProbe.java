package dev.catnap.engine.cuda;

import java.util.List;
import java.util.Objects;

/**
 * What {@link Cuda#probe()} found: the devices, or why there are none.
 *
 * @param devices           the devices in ordinal order; empty when CUDA is unavailable
 * @param unavailableReason one line saying why CUDA cannot be used; empty exactly when there are devices
 */
public record CudaProbe(List<CudaDevice> devices, String unavailableReason) {

    public CudaProbe {
        devices = List.copyOf(devices);
        Objects.requireNonNull(unavailableReason, "unavailableReason");
        if (devices.isEmpty() == unavailableReason.isBlank()) {
            throw new IllegalArgumentException(
                    devices.isEmpty()
                            ? "a probe without devices needs a reason"
                            : "a probe with devices has no unavailable reason");
        }
    }

    /** The probe that found devices. */
    static CudaProbe found(List<CudaDevice> devices) {
        return new CudaProbe(devices, "");
    }

    /** The probe that found none, for {@code reason}. */
    static CudaProbe unavailable(String reason) {
        return new CudaProbe(List.of(), reason);
    }

    /** Whether at least one device can be opened. */
    public boolean available() {
        return !devices.isEmpty();
    }
}
