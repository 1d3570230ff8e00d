package dev.catnap.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the bindings must do against any driver: the emulator in {@link CudaBindingsTest}, a real GPU in
 * {@link CudaDriverGpuTest}. Kernels come from src/test/cuda-emu/bindings-test.cu.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CudaDriverContract {

    static final Path BINDINGS_KERNELS = Path.of("src/test/cuda-emu/bindings-test.cu");

    CudaContext context;

    /** The driver library the tests load. */
    abstract Path driver();

    /** The module holding bindings-test.cu's kernels, in a form {@link CudaContext#loadModule} accepts for this driver. */
    abstract byte[] kernelImage();

    @BeforeEach
    void openContext() {
        context = Cuda.open(driver(), 0);
    }

    @AfterEach
    void closeContext() {
        context.close();
    }

    @Test
    void copiesRoundTripThroughDeviceMemory() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4096);
            for (int i = 0; i < 4096; i++) {
                host.set(JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            long device = context.alloc(4096);
            context.copyToDevice(device, host, 4096);
            MemorySegment back = arena.allocate(4096);
            context.copyToHost(back, device, 4096);
            assertThat(back.mismatch(host)).isEqualTo(-1);
            context.free(device);
        }
    }

    @Test
    void uploadsAMappedFileRegionLargerThanOneCopyChunk(@TempDir Path dir) throws IOException {
        // An unaligned region spanning two chunks, as a GGUF tensor region inside a mapped file would be.
        long offset = 4099;
        long length = CudaContext.COPY_CHUNK_BYTES + 12_345;
        Path file = dir.resolve("weights.bin");
        writePattern(file, offset + length + 100);
        try (Arena arena = Arena.ofConfined();
                FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            MemorySegment region = mapped.asSlice(offset, length);
            long device = context.alloc(length);
            context.copyToDevice(device, region, length);
            MemorySegment back = arena.allocate(length);
            context.copyToHost(back, device, length);
            assertThat(back.mismatch(region)).isEqualTo(-1);
        }
    }

    @Test
    void pinnedHostMemoryServesAsyncCopiesAndDiesWithFreeHost() {
        MemorySegment in = context.allocHost(1024);
        MemorySegment out = context.allocHost(1024);
        assertThat(in.byteSize()).isEqualTo(1024);
        for (int i = 0; i < 256; i++) {
            in.setAtIndex(JAVA_INT, i, i * i);
        }
        long device = context.alloc(1024);
        CudaStream stream = context.createStream();
        stream.copyToDeviceAsync(device, in, 1024);
        stream.copyToHostAsync(out, device, 1024);
        stream.synchronize();
        assertThat(out.mismatch(in)).isEqualTo(-1);

        context.freeHost(in);
        assertThatThrownBy(() -> in.get(JAVA_INT, 0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> context.freeHost(in))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already freed");
    }

    @Test
    void memsetAndDeviceToDeviceCopiesRunInStreamOrder() {
        long a = context.alloc(1000);
        long b = context.alloc(1000);
        try (CudaStream stream = context.createStream();
                Arena arena = Arena.ofConfined()) {
            stream.memsetAsync(a, (byte) 0x5A, 1000);
            stream.memsetAsync(a + 100, (byte) 0xC3, 50);
            stream.copyDeviceToDeviceAsync(b, a, 1000);
            stream.synchronize();
            MemorySegment back = arena.allocate(1000);
            context.copyToHost(back, b, 1000);
            for (int i = 0; i < 1000; i++) {
                assertThat(back.get(JAVA_BYTE, i))
                        .as("byte %d", i)
                        .isEqualTo(i >= 100 && i < 150 ? (byte) 0xC3 : (byte) 0x5A);
            }
        }
    }

    @Test
    void launchesAKernelWithPointerLongIntAndFloatArguments() {
        int count = 1000;
        CudaKernel scale = context.loadModule(kernelImage()).kernel("bindings_scale");
        try (Arena arena = Arena.ofConfined();
                CudaStream stream = context.createStream()) {
            MemorySegment host = arena.allocate(JAVA_FLOAT, count);
            for (int i = 0; i < count; i++) {
                host.setAtIndex(JAVA_FLOAT, i, i * 0.5f);
            }
            long in = context.alloc(count * 4L);
            long out = context.alloc(count * 4L);
            context.copyToDevice(in, host, count * 4L);
            stream.memsetAsync(out, (byte) 0, count * 4L);
            // count - 1 leaves the last element untouched, which shows the 64-bit count arrived intact.
            stream.launch(scale, (count + 255) / 256, 1, 1, 256, out, in, (long) count - 1, 3, 0.25f);
            stream.synchronize();
            MemorySegment result = arena.allocate(JAVA_FLOAT, count);
            context.copyToHost(result, out, count * 4L);
            for (int i = 0; i < count - 1; i++) {
                assertThat(result.getAtIndex(JAVA_FLOAT, i)).isCloseTo(i * 0.5f * 3 + 0.25f, within(1e-5f));
            }
            assertThat(result.getAtIndex(JAVA_FLOAT, count - 1)).isZero();
        }
    }

    @Test
    void launchesAKernelWithMoreArgumentsThanTheFirstParameterBlockHolds() {
        CudaKernel sum = context.loadModule(kernelImage()).kernel("bindings_sum40");
        long out = context.alloc(8);
        Object[] args = new Object[41];
        args[0] = out;
        long expected = 0;
        for (int i = 0; i < 40; i++) {
            args[i + 1] = 1000 - 37 * i;
            expected += (i + 1L) * (1000 - 37 * i);
        }
        try (Arena arena = Arena.ofConfined();
                CudaStream stream = context.createStream()) {
            stream.launch(sum, 1, 1, 1, 32, args);
            stream.synchronize();
            MemorySegment result = arena.allocate(JAVA_LONG);
            context.copyToHost(result, out, 8);
            assertThat(result.get(JAVA_LONG, 0)).isEqualTo(expected);
        }
    }

    @Test
    void rejectsArgumentsOfOtherTypes() {
        CudaKernel scale = context.loadModule(kernelImage()).kernel("bindings_scale");
        try (CudaStream stream = context.createStream()) {
            assertThatThrownBy(() -> stream.launch(scale, 1, 1, 1, 32, 0L, 0L, 1L, 2, 0.5))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("argument 4 of kernel bindings_scale is a Double; use Long, Integer or Float");
            assertThatThrownBy(() -> stream.launch(scale, 1, 1, 1, 32, 0L, null, 1L, 2, 0.5f))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("argument 1 of kernel bindings_scale is null");
        }
    }

    @Test
    void aCapturedGraphReplaysCopiesAndKernelsWithFreshPinnedInput() {
        int count = 64;
        long bytes = count * 4L;
        CudaKernel scale = context.loadModule(kernelImage()).kernel("bindings_scale");
        MemorySegment input = context.allocHost(bytes);
        MemorySegment output = context.allocHost(bytes);
        long in = context.alloc(bytes);
        long out = context.alloc(bytes);
        try (CudaStream stream = context.createStream()) {
            stream.beginCapture();
            stream.copyToDeviceAsync(in, input, bytes);
            stream.launch(scale, 1, 1, 1, count, out, in, (long) count, 2, 1.0f);
            stream.copyToHostAsync(output, out, bytes);
            try (CudaGraph graph = stream.endCapture()) {
                for (int replay = 1; replay <= 2; replay++) {
                    for (int i = 0; i < count; i++) {
                        input.setAtIndex(JAVA_FLOAT, i, replay * 100 + i);
                    }
                    stream.launch(graph);
                    stream.synchronize();
                    for (int i = 0; i < count; i++) {
                        assertThat(output.getAtIndex(JAVA_FLOAT, i))
                                .as("replay %d, element %d", replay, i)
                                .isEqualTo((replay * 100 + i) * 2 + 1.0f);
                    }
                }
                graph.close();
                assertThatThrownBy(() -> stream.launch(graph)).isInstanceOf(IllegalStateException.class);
            }
        }
    }

    @Test
    void eventsTimeTheWorkBetweenThem() {
        CudaKernel increment = context.loadModule(kernelImage()).kernel("bindings_increment");
        long counters = context.alloc(4096);
        try (CudaStream stream = context.createStream();
                CudaEvent start = stream.recordEvent()) {
            stream.memsetAsync(counters, (byte) 0, 4096);
            stream.launch(increment, 4, 1, 1, 256, counters, 1024);
            try (CudaEvent end = stream.recordEvent()) {
                assertThat(CudaStream.millisBetween(start, end)).isGreaterThanOrEqualTo(0f);
            }
        }
    }

    @Test
    void closingTheContextFreesWhatIsStillAllocated() {
        long before = context.freeMemory();
        assertThat(context.totalMemory()).isGreaterThanOrEqualTo(before);
        CudaContext second = Cuda.open(driver(), 0);
        second.alloc(32L << 20);
        second.allocHost(4096);
        second.createStream();
        second.loadModule(kernelImage());
        assertThat(context.freeMemory()).isLessThan(before);
        second.close();
        second.close();
        // A real driver may keep a little memory of its own (module code, stream state) for the primary context,
        // which both contexts share; the 32 MiB must come back.
        assertThat(context.freeMemory()).isGreaterThan(before - (4L << 20));
    }

    @Test
    void everythingRefusesUseAfterClose() {
        CudaContext closing = Cuda.open(driver(), 0);
        CudaStream stream = closing.createStream();
        MemorySegment pinned = closing.allocHost(64);
        closing.close();
        assertThatThrownBy(() -> closing.alloc(16))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the CUDA context of device 0 is closed");
        assertThatThrownBy(stream::synchronize)
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("the CUDA stream is closed");
        assertThatThrownBy(() -> pinned.get(JAVA_BYTE, 0)).isInstanceOf(IllegalStateException.class);
        closing.close();
        // The primary context stays retained by the test's own context.
        context.makeCurrent();
        context.synchronize();
    }

    @Test
    void reportsOutOfMemoryWithTheRequestedSize() {
        long huge = 1L << 50;
        assertThatThrownBy(() -> context.alloc(huge))
                .isInstanceOfSatisfying(CudaException.class, e -> {
                    assertThat(e.result()).isEqualTo(2);
                    assertThat(e.errorName()).isEqualTo("CUDA_ERROR_OUT_OF_MEMORY");
                    assertThat(e.call()).isEqualTo("cuMemAlloc(1125899906842624 bytes)");
                })
                .hasMessageStartingWith("cuMemAlloc(1125899906842624 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (");
    }

    @Test
    void namesAMissingKernel() {
        CudaModule module = context.loadModule(kernelImage());
        assertThatThrownBy(() -> module.kernel("no_such_kernel"))
                .isInstanceOf(CudaException.class)
                .hasMessageStartingWith("cuModuleGetFunction(\"no_such_kernel\") failed: CUDA_ERROR_NOT_FOUND (");
    }

    @Test
    void refusesPointersItDidNotAllocateAndHeapSegments() {
        long device = context.alloc(64);
        context.free(device);
        assertThatThrownBy(() -> context.free(device))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already freed");
        long other = context.alloc(64);
        assertThatThrownBy(() -> context.copyToDevice(other, MemorySegment.ofArray(new byte[64]), 64))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("native");
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> context.copyToDevice(other, arena.allocate(32), 64))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("cannot copy 64 bytes with a source segment of 32 bytes");
        }
    }

    private static void writePattern(Path file, long size) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer block = ByteBuffer.allocate(1 << 20);
            long written = 0;
            while (written < size) {
                block.clear();
                int n = (int) Math.min(block.capacity(), size - written);
                for (int i = 0; i < n; i++) {
                    long position = written + i;
                    block.put((byte) (position ^ position >>> 8 ^ position >>> 16));
                }
                block.flip();
                while (block.hasRemaining()) {
                    channel.write(block);
                }
                written += n;
            }
        }
        assertThat(Files.size(file)).isEqualTo(size);
    }
}
