package dev.catnap.engine.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HugePagesTest {
    @Test
    void mapsZeroedAlignedMemoryThatTheArenaUnmaps() {
        HugePages pages = HugePages.linux();
        assumeTrue(pages != null, "Linux only");
        long size = (3L << 20) + 5; // not a whole number of 2 MiB pages
        MemorySegment m;
        try (Arena arena = Arena.ofShared()) {
            m = pages.allocate(arena, size);
            assertThat(m).isNotNull();
            assertThat(m.byteSize()).isEqualTo(size);
            assertThat(m.address() % (2L << 20)).isZero();
            for (long o = 0; o < size; o += 4096) {
                assertThat(m.get(ValueLayout.JAVA_BYTE, o)).as("byte %d", o).isZero();
            }
            m.set(ValueLayout.JAVA_BYTE, size - 1, (byte) 7);
            assertThat(m.get(ValueLayout.JAVA_BYTE, size - 1)).isEqualTo((byte) 7);
        }
        assertThat(m.scope().isAlive()).isFalse();
    }
}
