package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bindings against the CPU emulator of libcuda built with bindings-test.cu's kernels, so that every machine runs
 * them. The driver path goes to {@link Cuda#open(Path, int)} directly, not through the system property, so these tests
 * do not disturb others running in parallel.
 */
class CudaBindingsTest extends CudaDriverContract {

    private Path driver;
    private byte[] image;

    @BeforeAll
    void buildEmulator() {
        driver = CudaEmulator.library(BINDINGS_KERNELS);
        try {
            // The emulator ignores module images (its kernels are compiled in); the source text stands in for PTX.
            image = Files.readAllBytes(BINDINGS_KERNELS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    Path driver() {
        return driver;
    }

    @Override
    byte[] kernelImage() {
        return image;
    }

    @Test
    void probeListsTheEmulator() {
        CudaProbe probe = Cuda.probe(driver);
        assertThat(probe.available()).isTrue();
        assertThat(probe.unavailableReason()).isEmpty();
        CudaDevice device = probe.devices().getFirst();
        assertThat(device.name()).isEqualTo("Catnap CUDA emulator");
        assertThat(device.ordinal()).isZero();
        assertThat(device.totalMemoryBytes()).isPositive();
        assertThat(device.describe()).matches("Catnap CUDA emulator \\(sm_\\d+, \\d+\\.\\d GiB\\)");
        assertThat(context.device()).isEqualTo(device);
    }

    @Test
    void aDeviceThatDoesNotExistIsTheDriversOneLiner() {
        int count = Cuda.probe(driver).devices().size();
        assertThatThrownBy(() -> Cuda.open(driver, count))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("cuDeviceGet(" + count + ") failed: CUDA_ERROR_INVALID_DEVICE (");
    }
}
