package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU's layouts of the weights whose one-token kernels read four rows at once. Q8_0 and F16 ({@link
 * Kind#UNITS}): each {@link #ROWS} rows {@code 4g .. 4g+3} have their units interleaved, unit u of row 4g+i at unit
 * index {@code 4g * units + 4u + i}, where a unit is a Q8_0 block (32 values, 34 bytes) or 16 halves of F16 (one
 * 512-bit vector of floats). Rows past the last full group keep the file's layout, row after row.
 *
 * <p>Why: one row's sum is a chain of dependent FMAs, one per unit, and with the weights coming from memory a chain
 * per row ran at 12 GB/s of Q8_0 weights per core; four rows read side by side from four places ran at 8. Four rows
 * whose units are neighbours are one stream again, with four chains in flight: 17 GB/s in the same harness. Each
 * row's sum keeps its order, so the results are the same bits as from the file's layout.
 *
 * <p>Q4_0 ({@link Kind#Q4_PAIRS}) is regrouped further, because its kernel is bound by instructions rather than by
 * memory: a group of rows (four, and the rows after the last full group as one smaller group) holds first each row's
 * block scales (F16, row after row, so that a row's scales convert sixteen at a time), then the packed bytes in
 * pairs of blocks, 32 bytes per row and pair, row after row within the pair. In a pair's 32 bytes, byte 2j is byte j
 * of the first block and byte 2j+1 byte j of the second: widened to 16-bit lanes, the even lanes are one block and
 * the odd lanes the other, and the 32-bit halves a shift apart separate them into two blocks' 16 float lanes. That
 * is one 512-bit pass per two blocks where the file's layout takes a 256-bit pass per block, and no per-block
 * conversion of the scale; together with four rows' chains, the one-token kernel ran 1.6 times as fast from L2.
 * The same bytes as the file's, so the copy is the same size.
 *
 * <p>Only on 512-bit CPUs (the 256-bit kernels read the file's layout).
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
        return MatMul.F.length() == 16 && kindOf(type, cols) != Kind.FILE;
    }

    /** The layout rows of {@code cols} of {@code type} take where this CPU groups weights. */
    private static Kind kindOf(GGMLType type, int cols) {
        return switch (type) {
            case Q8_0 -> cols % 32 == 0 ? Kind.UNITS : Kind.FILE;
            case F16 -> cols % 16 == 0 ? Kind.UNITS : Kind.FILE;
            case Q4_0 -> cols % 64 == 0 ? Kind.Q4_PAIRS : Kind.FILE;
            default -> Kind.FILE;
        };
    }

    /** The layouts: the file's, units interleaved in groups of rows, and Q4_0's scales apart and blocks in pairs. */
    enum Kind {
        FILE,
        UNITS,
        Q4_PAIRS
    }

    /**
     * Where the rows of one matrix of {@code rows} rows of {@code rowBytes} are, in {@code kind}; a row's units (of
     * {@code unitBytes}) are its blocks, or 16 halves of F16. {@code finiteHalves}: F16 weights without infinities or
     * NaNs, as checked when they were copied.
     */
    record Layout(Kind kind, int unitBytes, long rowBytes, int rows, boolean finiteHalves) {
        /** The layout in which the backend hands the kernels a [cols, rows] matrix of {@code type}. */
        static Layout of(GGMLType type, int cols, int rows) {
            int unitBytes = type == GGMLType.F16 ? 32 : type.blockBytes();
            Kind kind = applies(type, cols) ? kindOf(type, cols) : Kind.FILE;
            return new Layout(kind, unitBytes, (long) cols / type.blockSize() * type.blockBytes(), rows, false);
        }

        /** This layout over F16 weights that {@link #finiteHalves} found finite, which the kernels convert faster. */
        Layout withFiniteHalves() {
            return new Layout(kind, unitBytes, rowBytes, rows, true);
        }

        /** Whether this is not the file's layout, so that the backend holds a copy. */
        boolean grouped() {
            return kind != Kind.FILE;
        }

        /** Rows before this one are in full groups. */
        private int fullRows() {
            return grouped() ? rows - rows % ROWS : 0;
        }

        /** Row r's first unit: in the file's layout and in {@link Kind#UNITS}. */
        long rowStart(int r) {
            requireUnits();
            return r < fullRows() ? (r - r % ROWS) * rowBytes + (r % ROWS) * (long) unitBytes : r * rowBytes;
        }

        /** Bytes from one unit of row {@code r} to its next: in the file's layout and in {@link Kind#UNITS}. */
        long unitStep(int r) {
            requireUnits();
            return r < fullRows() ? ROWS * (long) unitBytes : unitBytes;
        }

        private void requireUnits() {
            if (kind == Kind.Q4_PAIRS) throw new IllegalStateException("Q4_0 pairs have no units of whole blocks");
        }

        /** Whether rows r..r+3 are one group, which a group kernel can read in one pass. */
        boolean groupAt(int r) {
            return r % ROWS == 0 && r + ROWS <= fullRows();
        }

        /** {@link Kind#Q4_PAIRS}: the first row of row r's group. */
        private int groupFirst(int r) {
            return r < fullRows() ? r - r % ROWS : fullRows();
        }

        /** {@link Kind#Q4_PAIRS}: the rows of row r's group, {@link #ROWS} or fewer for the last. */
        private int groupRows(int r) {
            return r < fullRows() ? ROWS : rows - fullRows();
        }

        /** {@link Kind#Q4_PAIRS}: row r's block scales, F16, adjacent. */
        long scalesStart(int r) {
            int first = groupFirst(r);
            return first * rowBytes + (r - first) * scalesBytes();
        }

        /** {@link Kind#Q4_PAIRS}: row r's first pair of blocks (32 bytes). */
        long pairsStart(int r) {
            int first = groupFirst(r);
            return first * rowBytes + groupRows(r) * scalesBytes() + (r - first) * 32L;
        }

        /** {@link Kind#Q4_PAIRS}: bytes from one pair of row r to its next. */
        long pairStep(int r) {
            return groupRows(r) * 32L;
        }

        private long scalesBytes() {
            return rowBytes / unitBytes * 2;
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
        if (layout.kind() == Kind.Q4_PAIRS) {
            for (int r = r0; r < r1; r++) q4Pairs(layout, plain, into, r);
            return;
        }
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

    /** Row r of Q4_0 weights from the file's layout into {@link Kind#Q4_PAIRS}. */
    private static void q4Pairs(Layout layout, MemorySegment plain, MemorySegment into, int r) {
        int blockBytes = layout.unitBytes();
        long from = r * layout.rowBytes(), scales = layout.scalesStart(r), pairs = layout.pairsStart(r);
        long step = layout.pairStep(r);
        int blocks = (int) (layout.rowBytes() / blockBytes);
        for (int b = 0; b < blocks; b++) into.set(I16, scales + 2L * b, plain.get(I16, from + (long) b * blockBytes));
        for (int k = 0; k < blocks / 2; k++) {
            long first = from + 2L * k * blockBytes + 2;
            ShortVector even = (ShortVector) ByteVector.fromMemorySegment(PACKED, plain, first, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, PAIRED, 0);
            ShortVector odd = (ShortVector) ByteVector.fromMemorySegment(PACKED, plain, first + blockBytes, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2S, PAIRED, 0);
            even.or(odd.lanewise(VectorOperators.LSHL, 8)).intoMemorySegment(into, pairs + k * step, LE);
        }
    }

    private static final VectorSpecies<Byte> PACKED = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> PAIRED = ShortVector.SPECIES_256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Whether the halves in {@code [from, to)} of {@code plain} (F16 weights) are all finite: no exponent of all ones. */
    static boolean finiteHalves(MemorySegment plain, long from, long to) {
        long o = from;
        for (; o + 64 <= to; o += 64) {
            ShortVector v = ShortVector.fromMemorySegment(ShortVector.SPECIES_512, plain, o, LE);
            if (v.and((short) 0x7C00)
                    .compare(VectorOperators.EQ, (short) 0x7C00)
                    .anyTrue()) return false;
        }
        for (; o + 2 <= to; o += 2) {
            if ((plain.get(I16, o) & 0x7C00) == 0x7C00) return false;
        }
        return true;
    }
}
