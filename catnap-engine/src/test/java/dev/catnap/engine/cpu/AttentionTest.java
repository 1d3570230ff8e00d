package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AttentionTest {
    /**
     * Rows of several lengths (a multiple of the key chains, one past, shorter than one chain, one and several chunks
     * of {@link SharedKvAttention#CHUNK} keys) against a double
     * reference; each row alone gives the same bits as in the batch. Query heads sharing a K/V head in groups of at
     * least a vector's lanes take {@link SharedKvAttention}: 16 on 1 and 32 on 2 (whole sets of lanes, sets of 8 with
     * 256-bit vectors), 20 on 1 (a full set and a partial one); groups of 4, 6, 2 and 1 take the per-head form. A head
     * dimension of 20 leaves a tail past the output chains.
     */
    @ParameterizedTest
    @CsvSource({"16, 1, 64", "32, 2, 64", "16, 1, 20", "8, 2, 64", "12, 2, 128", "20, 1, 64", "8, 4, 64", "4, 4, 32"})
    void matchesADoubleReferenceAndEachRowAlone(int heads, int kvHeads, int headDim) {
        var random = new SplittableRandom(heads * 31L + kvHeads * 7L + headDim);
        int[] lengths = {1, 7, 16, 17, 33, 129, 300};
        int n = lengths.length, kvWidth = kvHeads * headDim, qWidth = heads * headDim + 5, outWidth = heads * headDim;
        float[] q = new float[n * qWidth];
        for (int i = 0; i < q.length; i++) q[i] = (float) random.nextGaussian();
        int maxLen = 300;
        float[] k = new float[maxLen * kvWidth], v = new float[maxLen * kvWidth];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) random.nextGaussian();
            v[i] = (float) random.nextGaussian();
        }
        float[][] keys = new float[n][], values = new float[n][];
        for (int t = 0; t < n; t++) {
            keys[t] = k;
            values[t] = v;
        }
        float scale = (float) (1 / Math.sqrt(headDim));
        float[] out = new float[n * outWidth];
        try (CpuBackend backend = new CpuBackend(2)) {
            backend.attention(q, qWidth, 3, n, keys, values, lengths, heads, kvHeads, headDim, scale, out);
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    double[] want = reference(
                            q,
                            t * qWidth + 3 + h * headDim,
                            k,
                            v,
                            lengths[t],
                            (h / (heads / kvHeads)) * headDim,
                            kvWidth,
                            headDim,
                            scale);
                    for (int i = 0; i < headDim; i++) {
                        assertThat((double) out[t * outWidth + h * headDim + i])
                                .as("row %d head %d element %d", t, h, i)
                                .isCloseTo(want[i], within(2e-5));
                    }
                }
                float[] alone = new float[outWidth];
                float[] row = java.util.Arrays.copyOfRange(q, t * qWidth, (t + 1) * qWidth);
                backend.attention(
                        row,
                        qWidth,
                        3,
                        1,
                        new float[][] {k},
                        new float[][] {v},
                        new int[] {lengths[t]},
                        heads,
                        kvHeads,
                        headDim,
                        scale,
                        alone);
                for (int i = 0; i < outWidth; i++) {
                    assertThat(Float.floatToIntBits(alone[i]))
                            .as("row %d element %d alone", t, i)
                            .isEqualTo(Float.floatToIntBits(out[t * outWidth + i]));
                }
            }
        }
    }

    private static double[] reference(
            float[] q, int qo, float[] k, float[] v, int len, int kvo, int kvWidth, int headDim, float scale) {
        double[] scores = new double[len];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) {
            double s = 0;
            for (int i = 0; i < headDim; i++) s += (double) q[qo + i] * k[j * kvWidth + kvo + i];
            scores[j] = s * scale;
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < len; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[headDim];
        for (int j = 0; j < len; j++) {
            for (int i = 0; i < headDim; i++) out[i] += scores[j] / sum * v[j * kvWidth + kvo + i];
        }
        return out;
    }
}
