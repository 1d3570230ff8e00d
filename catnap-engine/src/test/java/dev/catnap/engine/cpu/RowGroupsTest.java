package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class RowGroupsTest {
    @Test
    void placesACopyNinetySixBytesPastA256ByteBoundaryInsideItsBlock() {
        long size = 10_000;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(size + RowGroups.PLACEMENT_SLACK + 512, 4096);
            // blocks starting on, just before and just past the wanted position, and at odd addresses
            for (long start : new long[] {0, 1, 2, 64, 95, 96, 97, 255, 256, 352, 400, 511}) {
                MemorySegment block = memory.asSlice(start, size + RowGroups.PLACEMENT_SLACK);
                MemorySegment copy = RowGroups.place(block, size);
                assertThat(copy.address() % 256).as("block at %d", start).isEqualTo(RowGroups.START);
                assertThat(copy.byteSize()).isEqualTo(size);
                assertThat(copy.address()).isGreaterThanOrEqualTo(block.address());
                assertThat(copy.address() + size).isLessThanOrEqualTo(block.address() + block.byteSize());
            }
        }
    }
}
