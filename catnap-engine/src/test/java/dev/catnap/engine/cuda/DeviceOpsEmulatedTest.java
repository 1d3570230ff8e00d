package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Single operations of the CUDA kernels on the emulator, against a double-precision reference. */
@Timeout(120)
class DeviceOpsEmulatedTest {
    private static final int COLS = 64, ROWS = 96;

    /**
     * Prompt products round activations to F16 for the tensor cores; a row holding values past F16's 65504 (large
     * activations do occur) is scaled by a power of two first, so it neither overflows nor loses its small values'
     * relative precision. Products of all three kinds of rows stay within F16 rounding of the exact result.
     */
    @Test
    void tensorCoreProductsKeepRowsBeyondTheF16Range() {
        int n = 24; // more than 16 rows: the tensor-core path
        var random = new SplittableRandom(7);
        float[] w = new float[ROWS * COLS], x = new float[n * COLS], bias = new float[ROWS];
        for (int i = 0; i < w.length; i++) w[i] = (float) random.nextDouble(-1, 1);
        for (int i = 0; i < bias.length; i++) bias[i] = (float) random.nextDouble(-1, 1);
        for (int t = 0; t < n; t++) {
            double magnitude = t % 3 == 0 ? 3e5 : t % 3 == 1 ? 1 : 1e-3;
            for (int k = 0; k < COLS; k++) x[t * COLS + k] = (float) (random.nextDouble(-1, 1) * magnitude);
        }
        try (CudaContext context = Cuda.open(CudaEmulator.library(), 0);
                Arena arena = Arena.ofConfined()) {
            context.makeCurrent();
            var ops = new DeviceOps(context.loadModule(CudaKernelsImage.required()), context.createStream());
            ops.useScratch(context.alloc(4L * n), context.alloc(4 * DeviceOps.partialFloats(n, 1, 32)));
            var matrix = new DeviceMatrix("w", upload(context, arena, w), GGMLType.F32, COLS, ROWS);
            long out = context.alloc(4L * n * ROWS);
            ops.matmul(
                    matrix,
                    upload(context, arena, x),
                    out,
                    upload(context, arena, bias),
                    n,
                    dev.catnap.engine.model.Ops.Epilogue.STORE);
            ops.stream().synchronize();
            MemorySegment result = arena.allocate(4L * n * ROWS);
            context.copyToHost(result, out, result.byteSize());

            for (int t = 0; t < n; t++) {
                double rowMagnitude = 0;
                for (int k = 0; k < COLS; k++) rowMagnitude = Math.max(rowMagnitude, Math.abs(x[t * COLS + k]));
                for (int r = 0; r < ROWS; r++) {
                    double exact = bias[r];
                    for (int k = 0; k < COLS; k++) exact += (double) w[r * COLS + k] * x[t * COLS + k];
                    float got = result.getAtIndex(ValueLayout.JAVA_FLOAT, (long) t * ROWS + r);
                    // F16 keeps 11 significant bits of each operand: error up to about 2^-11 of the terms' sizes.
                    double bound = COLS * rowMagnitude * Math.pow(2, -10) + 1e-5;
                    assertThat(Math.abs(got - exact))
                            .as("row %d, output %d", t, r)
                            .isLessThanOrEqualTo(bound);
                }
            }
        }
    }

    private static long upload(CudaContext context, Arena arena, float[] values) {
        MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
        long pointer = context.alloc(host.byteSize());
        context.copyToDevice(pointer, host, host.byteSize());
        return pointer;
    }
}
