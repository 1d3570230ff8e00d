package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CPU's layout of the weights whose one-token kernels read four rows at once: each {@link #ROWS} rows {@code 4g
 * .. 4g+3} have their units interleaved, unit u of row 4g+i at unit index {@code 4g * units + 4u + i}, where a unit
 * is a Q8_0 block (32 values, 34 bytes) or 16 halves of F16 (one 512-bit vector of floats). Rows past the last full
 * group keep the file's layout, row after row.
 *
 * <p>Why: one row's sum is a chain of dependent FMAs, one per unit, and with the weights coming from memory a chain
 * per row ran at 12 GB/s of Q8_0 weights per core; four rows read side by side from four places ran at 8. Four rows
 * whose units are neighbours are one stream again, with four chains in flight: 17 GB/s in the same harness. Each
 * row's sum keeps its order, so the results are the same bits as from the file's layout.
 *
 * <p>Only on 512-bit CPUs (the 256-bit kernels read the file's layout). Q4_0 keeps the file's layout: its kernel is
 * bound by its arithmetic rather than by the chain, and two rows at a time over groups measured slower (657 vs 544
 * us per one-token 2048x4096 product, {@code MatMulBenchmark}).
 */
final class RowGroups {
    static final int ROWS = 4;

    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private RowGroups() {}

    /**
     * Whether the backend hands the kernels weights of {@code type} with rows of {@code cols} in this layout: on
     * 512-bit CPUs, Q8_0 rows of whole blocks and F16 rows of whole 16-half units.
     */
    static boolean applies(GGMLType type, int cols) {
        if (MatMul.F.length() != 16) return false;
        return (type == GGMLType.Q8_0 && cols % 32 == 0) || (type == GGMLType.F16 && cols % 16 == 0);
    }

    /**
     * Where the rows of one matrix of {@code rows} rows of {@code rowBytes} start, and how far apart a row's units of
     * {@code unitBytes} are: in this layout if {@code grouped}, else in the file's (row after row, units adjacent).
     */
    record Layout(boolean grouped, int unitBytes, long rowBytes, int rows) {
        /** The layout in which the backend hands the kernels a [cols, rows] matrix of {@code type}. */
        static Layout of(GGMLType type, int cols, int rows) {
            int unitBytes = type == GGMLType.F16 ? 32 : type.blockBytes();
            return new Layout(applies(type, cols), unitBytes, (long) cols / type.blockSize() * type.blockBytes(), rows);
        }

        /** Rows before this one are in full groups. */
        private int fullRows() {
            return grouped ? rows - rows % ROWS : 0;
        }

        long rowStart(int r) {
            return r < fullRows() ? (r - r % ROWS) * rowBytes + (r % ROWS) * (long) unitBytes : r * rowBytes;
        }

        /** Bytes from one unit of row {@code r} to its next. */
        long unitStep(int r) {
            return r < fullRows() ? ROWS * (long) unitBytes : unitBytes;
        }

        /** Whether rows r..r+3 are one group, which a group kernel can read in one pass. */
        boolean groupAt(int r) {
            return r % ROWS == 0 && r + ROWS <= fullRows();
        }
    }

    /** Bytes to allocate beyond a copy's size so that {@link #place} can choose where in the block it starts. */
    static final int PLACEMENT_SLACK = 256;

    /** Where a copy starts within 256 bytes: see {@link #place}. */
    static final int START = 96;

    /**
     * The {@code size} bytes of {@code block} (allocated {@link #PLACEMENT_SLACK} larger) at which a grouped copy
     * starts: 96 bytes past a multiple of 256. Measured on the Zen 5 VM this was built on, in one process over the
     * same data: the Q8_0 group kernel streamed 2048-column weights from memory at 22-25 GB/s on one thread when the
     * copy started 32 to 144 bytes past a multiple of 256, and at 16-18 GB/s when it started on one (a 2 MiB page,
     * as huge pages are, or a 4 KiB one). Decoding StarCoder-1B Q8_0 on two threads: 19.8 tokens/s at a 2 MiB
     * boundary, 23.0-24.0 at 64, 96 or 128 bytes past one (three rounds each, alternating). The cause was not
     * found (not the activations' position, not the kernel's calls); 8192-column weights and F16 showed no
     * difference, so the offset costs nothing where it does not help.
     */
    static MemorySegment place(MemorySegment block, long size) {
        long skip = Math.floorMod(START - block.address(), (long) PLACEMENT_SLACK);
        return block.asSlice(skip, size);
    }

    /**
     * Copies rows {@code [r0, r1)} of {@code plain} (the file's layout) into {@code into}, in {@code layout}, which
     * is grouped; {@code r0} is a multiple of {@link #ROWS}.
     */
    static void group(Layout layout, MemorySegment plain, MemorySegment into, int r0, int r1) {
        int unitBytes = layout.unitBytes();
        long rowBytes = layout.rowBytes(), units = rowBytes / unitBytes;
        for (int r = r0; r < r1; r++) {
            long from = r * rowBytes, to = layout.rowStart(r), step = layout.unitStep(r);
            if (step == unitBytes) {
                MemorySegment.copy(plain, from, into, to, rowBytes);
                continue;
            }
            // Eight bytes at a time (and the two of a Q8_0 block's 34 left over): a MemorySegment.copy per unit cost
            // 5 seconds for a 1B model's Q8_0 weights, this loop a fraction of that.
            for (long u = 0; u < units; u++) {
                long src = from + u * unitBytes, dst = to + u * step;
                int k = 0;
                for (; k + 8 <= unitBytes; k += 8) into.set(I64, dst + k, plain.get(I64, src + k));
                for (; k < unitBytes; k += 2) into.set(I16, dst + k, plain.get(I16, src + k));
            }
        }
    }
}
