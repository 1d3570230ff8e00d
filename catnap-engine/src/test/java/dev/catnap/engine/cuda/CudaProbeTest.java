package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Probing and opening where the driver is missing or not a driver: needs neither a GPU nor the emulator. */
class CudaProbeTest {

    @Test
    void aMissingDriverFileIsOneLineFromProbeAndOpen() {
        Path missing = Path.of("/nonexistent/libcuda.so.1");
        CudaProbe probe = Cuda.probe(missing);
        assertThat(probe.available()).isFalse();
        assertThat(probe.devices()).isEmpty();
        assertThat(probe.unavailableReason()).isEqualTo("CUDA driver /nonexistent/libcuda.so.1 not found");
        assertThatThrownBy(() -> Cuda.open(missing, 0))
                .isInstanceOfSatisfying(CudaException.class, e -> {
                    assertThat(e.result()).isEqualTo(CudaException.NOT_A_DRIVER_RESULT);
                    assertThat(e.errorName()).isEmpty();
                })
                .hasMessage("CUDA driver /nonexistent/libcuda.so.1 not found");
    }

    @Test
    void aLibraryWithoutTheDriverApiIsNamedAsSuch() {
        CudaProbe probe = Cuda.probe(Path.of("libc.so.6"));
        assertThat(probe.available()).isFalse();
        assertThat(probe.unavailableReason())
                .isEqualTo("cuInit is not exported by libc.so.6 (an older driver, or not a CUDA driver)");
    }

    @Test
    void withoutTheNvidiaDriverTheDefaultLibrarySaysSo() {
        CudaProbe probe = Cuda.probe(Path.of(Cuda.DEFAULT_DRIVER));
        if (probe.available()) {
            assertThat(probe.unavailableReason()).isEmpty();
        } else {
            assertThat(probe.unavailableReason()).doesNotContain("\n").isNotBlank();
            if (probe.unavailableReason().contains("not found")) {
                assertThat(probe.unavailableReason())
                        .isEqualTo("libcuda.so.1 not found: the NVIDIA driver is not installed");
            }
        }
    }

    @Test
    void aProbeHasDevicesOrAReasonNeverBoth() {
        CudaDevice device = new CudaDevice(0, "NVIDIA H100 80GB HBM3", 85_031_714_816L, 9, 0);
        assertThat(device.describe()).isEqualTo("NVIDIA H100 80GB HBM3 (sm_90, 79.2 GiB)");
        assertThatThrownBy(() -> new CudaProbe(List.of(), "")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new CudaProbe(List.of(device), "no")).isInstanceOf(IllegalArgumentException.class);
        assertThat(new CudaProbe(List.of(device), "").available()).isTrue();
    }

    @Test
    void onlyPtxTextGetsATerminatingNul() {
        assertThat(CudaContext.needsTerminator(".version 9.0\n.target sm_90\n".getBytes()))
                .isTrue();
        assertThat(CudaContext.needsTerminator(".version 9.0\n\0".getBytes())).isFalse();
        assertThat(CudaContext.needsTerminator(new byte[] {0x7F, 'E', 'L', 'F', 2, 1}))
                .isFalse();
        assertThat(CudaContext.needsTerminator(new byte[] {0x50, (byte) 0xED, 0x55, (byte) 0xBA, 1, 0}))
                .isFalse();
    }
}
