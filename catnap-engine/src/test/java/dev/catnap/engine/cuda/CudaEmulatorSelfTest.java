package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks the emulator itself: its own kernels (selftest.cu) driven by a C client of the driver API
 * (selftest_main.c), so that a failure here points at the emulator rather than at the bindings or the project's
 * kernels.
 */
class CudaEmulatorSelfTest {

    private static Path library;
    private static Path client;

    /**
     * Per test rather than in a @BeforeAll: Surefire drops class-level skips without a word, while a skipped test
     * shows with its reason.
     */
    @BeforeEach
    void build() {
        CudaEmulator.assumeToolchain();
        buildOnce();
    }

    private static synchronized void buildOnce() {
        if (client != null) {
            return;
        }
        Path dir = CudaEmulator.emulatorDir();
        library = CudaEmulator.library(dir.resolve("selftest.cu"));
        Path executable = library.resolveSibling("selftest_main");
        Path source = dir.resolve("selftest_main.c");
        try {
            if (Files.exists(executable)
                    && Files.getLastModifiedTime(executable).compareTo(Files.getLastModifiedTime(source)) > 0
                    && Files.getLastModifiedTime(executable).compareTo(Files.getLastModifiedTime(library)) > 0) {
                client = executable;
                return;
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Result result = run(
                60,
                CudaEmulator.cc(),
                "-std=c11",
                "-O1",
                "-Wall",
                "-Werror",
                "-I" + CudaEmulator.cudaInclude(),
                source.toString(),
                "-L" + library.getParent(),
                "-lcatnap-cuda-emu",
                "-Wl,-rpath," + library.getParent(),
                "-lm",
                "-o",
                executable.toString());
        assertThat(result.exit)
                .as("compiling selftest_main.c:\n%s", result.output())
                .isZero();
        client = executable;
    }

    @Test
    @Timeout(120)
    void driverApiAndKernelsBehaveLikeCuda() {
        Result result = run(110, client.toString(), "api");
        List<String> failures =
                result.stdout.lines().filter(line -> line.startsWith("FAIL")).toList();
        assertThat(failures)
                .as("failed checks; full output:\n%s", result.output())
                .isEmpty();
        assertThat(result.stdout)
                .contains(
                        "done failures=0",
                        "ok graph replay 2 reads current host input",
                        "ok early-exit threads leave barriers and warps",
                        "ok __shfl_up_sync inclusive scan");
        assertThat(result.exit).isZero();
        // The deadlock and the divergent warp operation must be explained, not just turned into an error code.
        assertThat(result.stderr)
                .contains("deadlock in kernel divergent_shuffle, block (0,0,0)")
                .contains("lanes 0x0000ffff wait in __shfl_xor_sync(mask 0xffffffff) for lanes 0xffff0000")
                .contains("divergent warp operations in warp 0")
                .contains("lane 16 calls __shfl_down_sync");
    }

    @Test
    @Timeout(60)
    void fiftyThousandBlocksOfShufflesFinish() {
        Result result = run(55, client.toString(), "storm");
        assertThat(result.exit).as(result.output()).isZero();
        assertThat(result.stdout).contains("storm ok");
        System.out.println(result.stdout.strip());
    }

    @Test
    @Timeout(120)
    void halfConversionsMatchJava(@TempDir Path tmp) throws IOException {
        // Every float exponent with random mantissas, plus the rounding boundaries that are easy to get wrong.
        SplittableRandom random = new SplittableRandom(42);
        List<Float> values = new ArrayList<>();
        for (int bits = 0; bits < 1 << 9; bits++) {
            for (int k = 0; k < 300; k++) {
                values.add(Float.intBitsToFloat(bits << 23 | random.nextInt(1 << 23)));
            }
            values.add(Float.intBitsToFloat(bits << 23));
            values.add(Float.intBitsToFloat(bits << 23 | 0x1000)); // exactly halfway for normal halves
            values.add(Float.intBitsToFloat(bits << 23 | 0x3000));
            values.add(Float.intBitsToFloat(bits << 23 | 0x7fffff));
        }
        for (float f : new float[] {
            65504f,
            65519.99f,
            65520f,
            0x1p-24f,
            0x1p-25f,
            0x1.000002p-25f,
            0x1.8p-24f,
            0x1p-14f,
            0x1.ffcp-15f,
            Float.MIN_VALUE,
            Float.MAX_VALUE,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            Float.NaN,
            -0f
        }) {
            values.add(f);
        }
        ByteBuffer in = ByteBuffer.allocate(values.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        values.forEach(in::putFloat);
        Path inFile = tmp.resolve("in.bin");
        Path outFile = tmp.resolve("out.bin");
        Files.write(inFile, in.array());

        Result result = run(110, client.toString(), "half", inFile.toString(), outFile.toString());
        assertThat(result.exit).as(result.output()).isZero();

        ByteBuffer out = ByteBuffer.wrap(Files.readAllBytes(outFile)).order(ByteOrder.LITTLE_ENDIAN);
        int mismatches = 0;
        StringBuilder examples = new StringBuilder();
        for (float f : values) {
            short got = out.getShort();
            short want = Float.floatToFloat16(f);
            boolean ok = Float.isNaN(f) ? Float.isNaN(Float.float16ToFloat(got)) : got == want;
            if (!ok && mismatches++ < 10) {
                examples.append(String.format(
                        "%n  %a (0x%08x): got 0x%04x, Java 0x%04x", f, Float.floatToRawIntBits(f), got, want));
            }
        }
        assertThat(mismatches)
                .as("float to half mismatches out of %d:%s", values.size(), examples)
                .isZero();
        for (int h = 0; h < 65536; h++) {
            float got = out.getFloat();
            float want = Float.float16ToFloat((short) h);
            if (Float.isNaN(want)) {
                assertThat(got).as("half 0x%04x", h).isNaN();
            } else {
                assertThat(Float.floatToRawIntBits(got)).as("half 0x%04x", h).isEqualTo(Float.floatToRawIntBits(want));
            }
        }
    }

    /** The JVM must be able to load the library and call it through FFM, as the bindings will. */
    @Test
    void loadsThroughForeignFunctionApi() throws Throwable {
        Path project = CudaEmulator.library();
        assertThat(project).exists().hasFileName(CudaEmulator.LIBRARY_NAME);
        Linker linker = Linker.nativeLinker();
        SymbolLookup lookup = SymbolLookup.libraryLookup(project, Arena.global());
        MethodHandle version = linker.downcallHandle(
                lookup.findOrThrow("cuDriverGetVersion"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        MethodHandle errorName = linker.downcallHandle(
                lookup.findOrThrow("cuGetErrorName"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            assertThat((int) version.invokeExact(out)).isZero();
            assertThat(out.get(ValueLayout.JAVA_INT, 0)).isEqualTo(13000);
            MemorySegment name = arena.allocate(ValueLayout.ADDRESS);
            assertThat((int) errorName.invokeExact(500, name)).isZero();
            assertThat(name.get(ValueLayout.ADDRESS, 0).reinterpret(64).getString(0))
                    .isEqualTo("CUDA_ERROR_NOT_FOUND");
        }
        for (String symbol : List.of(
                "cuMemAlloc_v2",
                "cuMemcpyHtoDAsync_v2",
                "cuStreamBeginCapture_v2",
                "cuGraphInstantiateWithFlags",
                "cuEventElapsedTime_v2",
                "cuDevicePrimaryCtxRelease_v2")) {
            assertThat(lookup.find(symbol)).as(symbol).isPresent();
        }
    }

    private record Result(int exit, String stdout, String stderr) {
        String output() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private static Result run(long timeoutSeconds, String... command) {
        try {
            Path out = Files.createTempFile("catnap-emu-selftest", ".out");
            Path err = Files.createTempFile("catnap-emu-selftest", ".err");
            try {
                Process process = new ProcessBuilder(command)
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
                if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new AssertionError(String.join(" ", command) + " did not finish within " + timeoutSeconds
                            + " s (hung?); output so far:\n" + Files.readString(out, StandardCharsets.UTF_8)
                            + Files.readString(err, StandardCharsets.UTF_8));
                }
                return new Result(
                        process.exitValue(),
                        Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
