package dev.catnap.engine.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The kernels module built into the test class path, or a visible skip where the build had no nvcc (never in CI). */
final class CudaKernelsImage {
    private CudaKernelsImage() {}

    static byte[] required() {
        boolean present = CudaDecoders.class.getResource(CudaDecoders.KERNELS) != null;
        if (!present && System.getenv("CI") == null) {
            assumeTrue(false, "this build has no CUDA kernels (nvcc was not found at build time)");
        }
        return CudaDecoders.kernelImage();
    }
}
