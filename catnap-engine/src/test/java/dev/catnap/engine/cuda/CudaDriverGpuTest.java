package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bindings against the NVIDIA driver itself ({@value Cuda#DEFAULT_DRIVER}, not whatever catnap.cuda.driver names).
 * Every test is skipped, with the probe's reason, where there is no GPU; kernel tests also need nvcc to build
 * bindings-test.cu into PTX for the device found.
 */
class CudaDriverGpuTest extends CudaDriverContract {

    private CudaProbe probe;
    private Path ptxDirectory;
    private byte[] ptx;
    private String ptxUnavailable;

    @BeforeAll
    void probeTheRealDriver() {
        probe = Cuda.probe(Path.of(Cuda.DEFAULT_DRIVER));
    }

    @AfterAll
    void deletePtx() throws IOException {
        if (ptxDirectory != null) {
            try (var files = Files.list(ptxDirectory)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(ptxDirectory);
        }
    }

    @Override
    @BeforeEach
    void openContext() {
        assumeTrue(probe.available(), () -> "no CUDA GPU: " + probe.unavailableReason());
        super.openContext();
    }

    @Override
    @AfterEach
    void closeContext() {
        if (context != null) {
            super.closeContext();
        }
    }

    @Override
    Path driver() {
        return Path.of(Cuda.DEFAULT_DRIVER);
    }

    @Override
    byte[] kernelImage() {
        if (ptx == null && ptxUnavailable == null) {
            compilePtx();
        }
        assumeTrue(ptx != null, () -> "cannot build the test kernels: " + ptxUnavailable);
        return ptx;
    }

    @Test
    void probeDescribesTheDevices() {
        CudaDevice first = probe.devices().getFirst();
        assertThat(first.ordinal()).isZero();
        assertThat(first.totalMemoryBytes()).isPositive();
        assertThat(first.computeMajor()).isGreaterThanOrEqualTo(5);
        assertThat(first.describe())
                .startsWith(first.name() + " (sm_" + first.computeMajor() + first.computeMinor() + ", ");
        assertThat(context.device()).isEqualTo(first);
    }

    private void compilePtx() {
        CudaDevice device = probe.devices().getFirst();
        try {
            ptxDirectory = Files.createTempDirectory("bindings-ptx");
            Path out = ptxDirectory.resolve("bindings-test.ptx");
            Process nvcc = new ProcessBuilder(List.of(
                            "nvcc",
                            "-ptx",
                            "-arch=sm_" + device.computeMajor() + device.computeMinor(),
                            "-o",
                            out.toString(),
                            BINDINGS_KERNELS.toString()))
                    .redirectErrorStream(true)
                    .start();
            String log = new String(nvcc.getInputStream().readAllBytes());
            if (!nvcc.waitFor(2, TimeUnit.MINUTES) || nvcc.exitValue() != 0) {
                ptxUnavailable = "nvcc failed: " + log.strip();
                return;
            }
            ptx = Files.readAllBytes(out);
        } catch (IOException e) {
            ptxUnavailable = "nvcc not runnable: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ptxUnavailable = "interrupted";
        }
    }
}
