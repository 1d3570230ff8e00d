package dev.catnap.engine.cpu;

import org.assertj.core.data.Offset;

/**
 * One weight row times one token's activations in doubles: the reference the kernels' float sums are checked against.
 * Float accumulation's error scales with the sum of the terms' magnitudes, hence the tolerance.
 */
record DenseProduct(double sum, double magnitude) {
    /** Row {@code row} of {@code dense} ({@code cols} wide) times {@code x[xo .. xo+cols)}. */
    static DenseProduct of(float[] dense, int row, int cols, float[] x, int xo) {
        double sum = 0, magnitude = 0;
        for (int c = 0; c < cols; c++) {
            double p = (double) dense[row * cols + c] * x[xo + c];
            sum += p;
            magnitude += Math.abs(p);
        }
        return new DenseProduct(sum, magnitude);
    }

    /** 1e-6 of the terms' magnitudes, and 1e-6 besides. */
    Offset<Double> tolerance() {
        return Offset.offset(1e-6 * (1 + magnitude));
    }
}
