package dev.catnap.engine.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Native memory for weights the CPU backend copies ({@link RowGroups}), in 2 MiB pages where the system lends them:
 * on Linux, a private anonymous mapping marked {@code MADV_HUGEPAGE}, which transparent huge pages in their usual
 * {@code madvise} mode then back with 2 MiB pages. The copy gains: first touching 1.1 GiB cost 3.5-5 s in 4 KiB
 * pages on a VM whose every page fault is slow, 2 s in 2 MiB ones. (The kernels may gain too, with fewer page
 * boundaries to cross; that was not measured on its own.) Elsewhere, or if the calls fail, the arena's own memory.
 */
final class HugePages {
    private static final long HUGE = 2L << 20;
    private static final boolean LINUX =
            System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    // Linux's values on x86-64 and arm64
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MADV_HUGEPAGE = 14;

    private final MethodHandle mmap;
    private final MethodHandle madvise;
    private final MethodHandle munmap;

    private HugePages(MethodHandle mmap, MethodHandle madvise, MethodHandle munmap) {
        this.mmap = mmap;
        this.madvise = madvise;
        this.munmap = munmap;
    }

    /** The system calls, or null where they are not Linux's or cannot be bound. */
    static HugePages linux() {
        if (!LINUX) return null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            var mmap = linker.downcallHandle(
                    libc.find("mmap").orElseThrow(),
                    FunctionDescriptor.of(
                            ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS,
                            ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_INT,
                            ValueLayout.JAVA_LONG));
            var madvise = linker.downcallHandle(
                    libc.find("madvise").orElseThrow(),
                    FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            var munmap = linker.downcallHandle(
                    libc.find("munmap").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            return new HugePages(mmap, madvise, munmap);
        } catch (RuntimeException e) { // no such symbol, or native access refused
            return null;
        }
    }

    /**
     * {@code size} bytes, zeroed, aligned to 2 MiB, unmapped when {@code arena} closes; null if the mapping failed
     * (the caller then allocates from the arena).
     */
    MemorySegment allocate(Arena arena, long size) {
        long length = (size + HUGE - 1) / HUGE * HUGE + HUGE;
        try {
            MemorySegment mapped = (MemorySegment)
                    mmap.invokeExact(MemorySegment.NULL, length, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
            if (mapped.address() == -1L) return null;
            long start = (mapped.address() + HUGE - 1) & -HUGE;
            // advice only: without transparent huge pages the memory is the same, in 4 KiB pages
            int ignored = (int) madvise.invokeExact(MemorySegment.ofAddress(start), length - HUGE, MADV_HUGEPAGE);
            long base = mapped.address();
            return MemorySegment.ofAddress(start).reinterpret(size, arena, s -> unmap(base, length));
        } catch (Throwable e) {
            return null;
        }
    }

    private void unmap(long base, long length) {
        try {
            int ignored = (int) munmap.invokeExact(MemorySegment.ofAddress(base), length);
        } catch (Throwable e) {
            // the process keeps the pages; nothing else to do at close
        }
    }
}
