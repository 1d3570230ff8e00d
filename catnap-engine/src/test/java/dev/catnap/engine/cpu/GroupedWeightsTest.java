package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.catnap.engine.gguf.Dequantize;
import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.gguf.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Q8_0, F16 and Q4_0 weights in the four-row groups of {@link RowGroups}, which the 512-bit kernels read. */
class GroupedWeightsTest {
    // 11 rows: two full groups and three rows after them, which keep the file's layout.
    private static final int COLS = 128;
    private static final int ROWS = 11;

    @ParameterizedTest
    @EnumSource(
            value = GGMLType.class,
            names = {"Q8_0", "F16"})
    void everyUnitLandsWhereTheKernelsReadIt(GGMLType type) {
        // grouped whatever this CPU's vectors, so that the layout is checked everywhere
        var file = RowGroups.Layout.of(type, COLS, ROWS);
        var layout = new RowGroups.Layout(RowGroups.Kind.UNITS, file.unitBytes(), file.rowBytes(), ROWS, false);
        int blockBytes = layout.unitBytes();
        long rowBytes = layout.rowBytes();
        MemorySegment plain = randomBytes(ROWS * rowBytes, 3);
        MemorySegment grouped = Arena.ofAuto().allocate(plain.byteSize());
        // in two pieces, as the backend's threads fill it
        RowGroups.group(layout, plain, grouped, 0, 4);
        RowGroups.group(layout, plain, grouped, 4, ROWS);
        for (int r = 0; r < ROWS; r++) {
            long start = layout.rowStart(r);
            long step = layout.unitStep(r);
            assertThat(layout.groupAt(r)).as("%s group at row %d", type, r).isEqualTo(r == 0 || r == 4);
            assertThat(step).as("%s row %d", type, r).isEqualTo(r < 8 ? 4L * blockBytes : blockBytes);
            for (int b = 0; b < rowBytes / blockBytes; b++) {
                MemorySegment want = plain.asSlice(r * rowBytes + (long) b * blockBytes, blockBytes);
                MemorySegment got = grouped.asSlice(start + b * step, blockBytes);
                assertThat(got.mismatch(want))
                        .as("%s row %d unit %d", type, r, b)
                        .isEqualTo(-1L);
            }
        }
    }

    @Test
    void q4PairsHoldEveryScaleAndByteWhereTheKernelsReadThem() {
        int blockBytes = GGMLType.Q4_0.blockBytes(), blocks = COLS / 32;
        long rowBytes = (long) blocks * blockBytes;
        var layout = new RowGroups.Layout(RowGroups.Kind.Q4_PAIRS, blockBytes, rowBytes, ROWS, false);
        MemorySegment plain = randomBytes(ROWS * rowBytes, 5);
        MemorySegment paired = Arena.ofAuto().allocate(plain.byteSize());
        RowGroups.group(layout, plain, paired, 0, 8);
        RowGroups.group(layout, plain, paired, 8, ROWS);
        var seen = new java.util.BitSet();
        for (int r = 0; r < ROWS; r++) {
            assertThat(layout.groupAt(r)).as("group at row %d", r).isEqualTo(r == 0 || r == 4);
            // rows 8..10 are the last group, of three rows
            assertThat(layout.pairStep(r)).as("row %d", r).isEqualTo(r < 8 ? 128L : 96L);
            for (int b = 0; b < blocks; b++) {
                long from = r * rowBytes + (long) b * blockBytes;
                long scale = layout.scalesStart(r) + 2L * b;
                assertThat(paired.get(ValueLayout.JAVA_SHORT_UNALIGNED, scale))
                        .as("row %d scale %d", r, b)
                        .isEqualTo(plain.get(ValueLayout.JAVA_SHORT_UNALIGNED, from));
                seen.set((int) scale, (int) scale + 2);
                for (int j = 0; j < 16; j++) {
                    long at = layout.pairsStart(r) + (b / 2) * layout.pairStep(r) + 2 * j + b % 2;
                    assertThat(paired.get(ValueLayout.JAVA_BYTE, at))
                            .as("row %d block %d byte %d", r, b, j)
                            .isEqualTo(plain.get(ValueLayout.JAVA_BYTE, from + 2 + j));
                    seen.set((int) at);
                }
            }
        }
        assertThat(seen.cardinality())
                .as("every byte of the copy is some block's")
                .isEqualTo((int) plain.byteSize());
    }

    @Test
    void q4PairScalesConvertEveryHalfAsTheScalarConversionDoes() {
        int count = 1 << 16;
        MemorySegment halves = Arena.ofAuto().allocate(2L * count);
        for (int h = 0; h < count; h++) halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * h, (short) h);
        var random = new SplittableRandom(23);
        float[] xd = new float[count];
        for (int i = 0; i < count; i++) xd[i] = (float) random.nextDouble(-2, 2);
        float[] sc = new float[count + 3];
        // in rows of 64 blocks, as the kernels call it, then one row of 40 blocks: a tail of 8 past its last full
        // vector
        for (int at = 0; at < count; at += 64) QuantizedDot.q4PairScales(halves, 2L * at, 64, xd, at, sc, 3 + at);
        for (int h = 0; h < count; h++) {
            float want = Float.float16ToFloat((short) h) * xd[h];
            assertThat(Float.floatToIntBits(sc[3 + h])).as("half %04x", h).isEqualTo(Float.floatToIntBits(want));
        }
        java.util.Arrays.fill(sc, 0f);
        QuantizedDot.q4PairScales(halves, 2L * 1000, 40, xd, 1000, sc, 0);
        for (int b = 0; b < 40; b++) {
            float want = Float.float16ToFloat((short) (1000 + b)) * xd[1000 + b];
            assertThat(sc[b]).as("block %d", b).isEqualTo(want);
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GGMLType.class,
            names = {"Q8_0", "Q4_0"})
    void groupedRowsGiveTheBitsOfTheRowByRowKernel(GGMLType type) {
        assumeTrue(RowGroups.applies(type, COLS), "only 512-bit CPUs group Q8_0 and Q4_0 weights");
        var random = new SplittableRandom(11);
        var m = Matrix.random(type, COLS, random);
        try (var backend = new CpuBackend(2)) {
            decodingTokensGetTheRowByRowBits(backend, m, random);
            // rows of 34 blocks (17 Q4_0 pairs), the width of no other test
            decodingTokensGetTheRowByRowBits(backend, Matrix.random(type, 1088, random), random);
            // prompt rows: the widened rows of the float tiles, from the same layout
            int n = 5;
            float[] x = new float[n * COLS];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[n * ROWS];
            backend.matmul(m.tensor(), x, out, n, 0);
            for (int t = 0; t < n; t++) {
                float[] xr = MatMulTest.roundedToQ8(java.util.Arrays.copyOfRange(x, t * COLS, (t + 1) * COLS));
                for (int r = 0; r < ROWS; r++) {
                    var ref = DenseProduct.of(m.dense(), r, COLS, xr, 0);
                    assertThat((double) out[t * ROWS + r])
                            .as("%s prompt token %d row %d", type, t, r)
                            .isCloseTo(ref.sum(), ref.tolerance());
                }
            }
        }
    }

    /**
     * A random matrix of {@link #ROWS} rows of {@code cols} in {@code type}: the tensor (its data off the heap, as a
     * mapped file's), the file's bytes and their dequantized values.
     */
    private record Matrix(GGUFTensor tensor, MemorySegment plain, float[] dense) {
        static Matrix random(GGMLType type, int cols, SplittableRandom random) {
            float[] values = new float[ROWS * cols];
            for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
            MemorySegment plain = MemorySegment.ofArray(Quantize.quantize(type, values));
            MemorySegment data = Arena.ofAuto().allocate(plain.byteSize());
            data.copyFrom(plain);
            float[] dense = new float[values.length];
            Dequantize.dequantize(type, plain, 0, dense, 0, dense.length);
            return new Matrix(new GGUFTensor("random", type, new long[] {cols, ROWS}, data), plain, dense);
        }
    }

    /** Decoding tokens over {@code m} in the backend's grouped layout get the bits of the file's row by row kernel. */
    private static void decodingTokensGetTheRowByRowBits(CpuBackend backend, Matrix m, SplittableRandom random) {
        GGMLType type = m.tensor().type();
        int cols = (int) m.tensor().dim(0);
        MemorySegment plain = m.plain();
        long rowBytes = (long) cols / 32 * type.blockBytes();
        // one and two decoding tokens take the group kernel, from three on the exact tiles (4 x 3, and 4 x 1 for the
        // one or two left over)
        for (int n : new int[] {1, 2, 4, 5, 10, 22}) {
            float[] x = new float[n * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
            float[] out = new float[n * ROWS];
            backend.matmul(m.tensor(), x, out, n, n);
            var q = new Q8Activations();
            q.quantize(type, x, n, cols, 0);
            float[] lanes = new float[16];
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < ROWS; r++) {
                    long base = r * rowBytes;
                    int xo = t * cols, bo = t * cols / 32, blocks = cols / 32, step = type.blockBytes();
                    if (type == GGMLType.Q8_0)
                        QuantizedDot.wideQ8Dot(plain, base, step, blocks, q.q, q.d, xo, bo, lanes);
                    else QuantizedDot.wideQ4Dot(plain, base, step, blocks, q.q, q.d, xo, bo, lanes);
                    assertThat(out[t * ROWS + r])
                            .as("%s %d columns n=%d token %d row %d", type, cols, n, t, r)
                            .isEqualTo(MatMul.sum(lanes, 0));
                }
            }
        }
    }

    @Test
    void everyFiniteHalfWidensToItsFloatInBothConversions() {
        MemorySegment halves = Arena.ofAuto().allocate(2L * 65536);
        int count = 0;
        for (int h = 0; h < 65536; h++) {
            if ((h & 0x7C00) != 0x7C00) halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * count++, (short) h);
        }
        assertThat(count % 16).isZero();
        float[] fast = new float[16], full = new float[16];
        for (int i = 0; i < count; i += 16) {
            MatMul.halvesToFloats(halves, 2L * i, true, fast, 0);
            MatMul.halvesToFloats(halves, 2L * i, false, full, 0);
            for (int j = 0; j < 16; j++) {
                short h = halves.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (i + j));
                int want = Float.floatToRawIntBits(Float.float16ToFloat(h));
                assertThat(Float.floatToRawIntBits(fast[j])).as("half %04x", h).isEqualTo(want);
                assertThat(Float.floatToRawIntBits(full[j])).as("half %04x", h).isEqualTo(want);
            }
        }
    }

    @Test
    void finiteHalvesFindsAnInfinityOrNaNAnywhere() {
        int count = 200; // three 32-half vectors and a tail of 8
        MemorySegment halves = Arena.ofAuto().allocate(2L * count);
        var random = new SplittableRandom(31);
        for (int i = 0; i < count; i++) {
            short h = Float.floatToFloat16((float) random.nextGaussian());
            halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, h);
        }
        halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 20, (short) 0x7BFF); // the largest finite half
        halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 22, (short) 0x0001); // the smallest subnormal
        assertThat(RowGroups.finiteHalves(halves, 0, 2L * count)).isTrue();
        for (int at : new int[] {0, 31, 32, 95, 96, 195, 199}) {
            for (short bad : new short[] {(short) 0x7C00, (short) 0xFC00, (short) 0x7E00, (short) 0xFC01}) {
                short kept = halves.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * at);
                halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * at, bad);
                assertThat(RowGroups.finiteHalves(halves, 0, 2L * count))
                        .as("%04x at %d", bad, at)
                        .isFalse();
                // outside the range looked at
                assertThat(RowGroups.finiteHalves(halves, 2L * (at + 1), 2L * count))
                        .isTrue();
                halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * at, kept);
            }
        }
    }

    /** An infinite F16 weight still gives its row an infinite sum: such a matrix takes the full conversion. */
    @Test
    void aMatrixWithAnInfiniteHalfKeepsItsInfinity() {
        var random = new SplittableRandom(37);
        MemorySegment data = Arena.ofAuto().allocate(ROWS * COLS * 2L);
        for (int i = 0; i < ROWS * COLS; i++) {
            data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, Float.floatToFloat16((float) random.nextGaussian()));
        }
        data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (2 * COLS + 5), (short) 0x7C00);
        var w = new GGUFTensor("infinite", GGMLType.F16, new long[] {COLS, ROWS}, data);
        float[] x = new float[2 * COLS];
        for (int i = 0; i < x.length; i++) x[i] = 0.5f + (float) random.nextDouble();
        try (var backend = new CpuBackend(1)) {
            for (int oneTokenRows : new int[] {1, 0}) {
                float[] out = new float[2 * ROWS];
                backend.matmul(w, x, out, 2, oneTokenRows);
                for (int t = 0; t < 2; t++) {
                    for (int r = 0; r < ROWS; r++) {
                        float v = out[t * ROWS + r];
                        if (r == 2) assertThat(v).as("token %d row 2", t).isEqualTo(Float.POSITIVE_INFINITY);
                        else
                            assertThat(Float.isFinite(v))
                                    .as("token %d row %d: %s", t, r, v)
                                    .isTrue();
                    }
                }
            }
        }
    }

    /** Float32 activations (the CUDA comparison's arithmetic) over Q4_0 pairs: the widened rows, for decoding and prompt rows. */
    @Test
    void unroundedProductsOverQ4PairsMatchTheDenseWeights() {
        assumeTrue(RowGroups.applies(GGMLType.Q4_0, COLS), "only 512-bit CPUs pair Q4_0 weights");
        var random = new SplittableRandom(29);
        var m = Matrix.random(GGMLType.Q4_0, COLS, random);
        var w = m.tensor();
        float[] dense = m.dense();
        try (var backend = new CpuBackend(2, false)) {
            for (int n : new int[] {1, 5}) {
                for (int oneTokenRows : new int[] {n, 0}) {
                    float[] x = new float[n * COLS];
                    for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
                    float[] out = new float[n * ROWS];
                    backend.matmul(w, x, out, n, oneTokenRows);
                    for (int t = 0; t < n; t++) {
                        for (int r = 0; r < ROWS; r++) {
                            var ref = DenseProduct.of(dense, r, COLS, x, t * COLS);
                            assertThat((double) out[t * ROWS + r])
                                    .as("n=%d one-token rows %d token %d row %d", n, oneTokenRows, t, r)
                                    .isCloseTo(ref.sum(), ref.tolerance());
                        }
                    }
                }
            }
        }
    }

    /**
     * F16 groups: a decoding token alone (the four-row group kernel) gets the bits it gets among other decoding tokens
     * (the float tiles over widened rows); as a prompt row ({@link PromptTiles}) it gets the same sum to float
     * rounding.
     */
    @Test
    void halfPrecisionGroupsGiveEveryDecodingRowTheSameBitsAloneAsInABatch() {
        var random = new SplittableRandom(17);
        MemorySegment data = Arena.ofAuto().allocate(ROWS * COLS * 2L);
        float[] dense = new float[ROWS * COLS];
        for (int i = 0; i < dense.length; i++) {
            short h = Float.floatToFloat16((float) random.nextGaussian());
            data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, h);
            dense[i] = Float.float16ToFloat(h);
        }
        var w = new GGUFTensor("grouped", GGMLType.F16, new long[] {COLS, ROWS}, data);
        int n = 4;
        float[] x = new float[n * COLS];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        float[] decoding = new float[n * ROWS];
        float[] prompt = new float[n * ROWS];
        try (var backend = new CpuBackend(1)) {
            backend.matmul(w, x, decoding, n, n);
            backend.matmul(w, x, prompt, n, 0);
            for (int t = 0; t < n; t++) {
                float[] alone = new float[ROWS];
                backend.matmul(w, java.util.Arrays.copyOfRange(x, t * COLS, (t + 1) * COLS), alone, 1, 1);
                for (int r = 0; r < ROWS; r++) {
                    assertThat(alone[r]).as("token %d row %d", t, r).isEqualTo(decoding[t * ROWS + r]);
                    var ref = DenseProduct.of(dense, r, COLS, x, t * COLS);
                    assertThat((double) alone[r]).isCloseTo(ref.sum(), ref.tolerance());
                    assertThat((double) prompt[t * ROWS + r])
                            .as("prompt token %d row %d", t, r)
                            .isCloseTo(ref.sum(), ref.tolerance());
                }
            }
        }
    }

    /** {@code size} random bytes, as stand-ins for any type's blocks. */
    private static MemorySegment randomBytes(long size, int seed) {
        MemorySegment bytes = Arena.ofAuto().allocate(size);
        var random = new SplittableRandom(seed);
        for (long i = 0; i < size; i++) bytes.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        return bytes;
    }
}
