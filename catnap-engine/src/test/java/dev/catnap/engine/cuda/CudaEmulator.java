package dev.catnap.engine.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Builds the CPU emulator of libcuda (src/test/cuda-emu) so that tests on machines without a GPU can drive the real
 * FFM bindings and run the real CUDA C kernels.
 *
 * <p>The library exports the driver API with the names and prototypes of cuda.h; load it like libcuda. Module
 * images passed to {@code cuModuleLoadData} are ignored: {@code cuModuleGetFunction} finds kernels among those compiled
 * into the library. Builds are incremental (build.sh skips up-to-date objects) and happen at most once per JVM for each
 * set of kernel sources.
 *
 * <p>Without g++ (or gcc, or cuda.h) every method aborts the calling test as skipped, or fails it when the environment
 * variable {@code CI} is set, where a silently skipped backend would go unnoticed.
 */
final class CudaEmulator {

    /** The project's kernel translation unit; it #includes the .cuh files beside it. */
    static final String PROJECT_KERNELS = "src/main/cuda/catnap-kernels.cu";

    static final String LIBRARY_NAME = "libcatnap-cuda-emu.so";
    private static final long BUILD_TIMEOUT_MINUTES = 15;

    private static final Map<List<Path>, Path> BUILT = new HashMap<>();

    private CudaEmulator() {}

    /**
     * The emulator with the project's kernels ({@value #PROJECT_KERNELS}), or with no kernels while that file does not
     * exist yet, built into {@code <build dir>/cuda-emu/}.
     */
    static Path library() {
        Path kernels = projectKernels();
        return build(outputDir(), Files.exists(kernels) ? List.of(kernels) : List.of());
    }

    /**
     * The emulator with exactly the given kernel sources (not the project's, unless passed), built into its own
     * directory under {@code <build dir>/cuda-emu/}; the file name is {@value #LIBRARY_NAME} in every case.
     */
    static Path library(Path... kernelSources) {
        List<Path> sources = new ArrayList<>();
        for (Path source : kernelSources) {
            Path absolute = source.toAbsolutePath().normalize();
            if (!Files.isRegularFile(absolute)) {
                throw new IllegalArgumentException("kernel source " + absolute + " does not exist");
            }
            sources.add(absolute);
        }
        return build(outputDir().resolve("custom-" + digest(sources)), List.copyOf(sources));
    }

    /** The catnap-engine module directory. */
    static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        // Maven runs tests in the module directory; an IDE may run them from the repository root.
        for (Path candidate : List.of(here, here.resolve("catnap-engine"))) {
            if (Files.isDirectory(candidate.resolve("src/test/cuda-emu"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("cannot find catnap-engine/src/test/cuda-emu from working directory " + here);
    }

    /** src/test/cuda-emu: build.sh, the emulator sources and the self-test kernels. */
    static Path emulatorDir() {
        return moduleDir().resolve("src/test/cuda-emu");
    }

    static Path projectKernels() {
        return moduleDir().resolve(PROJECT_KERNELS);
    }

    /** {@code <build dir>/cuda-emu}; the build dir follows {@code -Dcatnap.target} through the catnap.build.dir property. */
    static Path outputDir() {
        String buildDir = System.getProperty("catnap.build.dir");
        Path base = buildDir == null || buildDir.isBlank() ? moduleDir().resolve("target") : Path.of(buildDir);
        return base.resolve("cuda-emu");
    }

    /** Skips (or, under CI, fails) the calling test unless g++, gcc and cuda.h are available. */
    static void assumeToolchain() {
        missingTool().ifPresent(reason -> {
            String message = reason + ": CUDA emulator tests skipped";
            if (System.getenv("CI") != null) {
                throw new AssertionError(message.replace("skipped", "cannot run") + " (CI is set, so this fails)");
            }
            Assumptions.assumeTrue(false, message);
        });
    }

    /** Directory with cuda.h, from CUDA_HOME or /usr/local/cuda. */
    static Path cudaInclude() {
        String home = System.getenv("CUDA_HOME");
        return Path.of(home == null || home.isBlank() ? "/usr/local/cuda" : home)
                .resolve("include");
    }

    /** The C compiler used for driver-API client programs in tests. */
    static String cc() {
        String cc = System.getenv("CC");
        return cc == null || cc.isBlank() ? "gcc" : cc;
    }

    private static String cxx() {
        String cxx = System.getenv("CXX");
        return cxx == null || cxx.isBlank() ? "g++" : cxx;
    }

    private static Optional<String> missingTool() {
        if (!onPath(cxx())) {
            return Optional.of(cxx() + " not found");
        }
        if (!onPath(cc())) {
            return Optional.of(cc() + " not found");
        }
        if (!Files.isRegularFile(cudaInclude().resolve("cuda.h"))) {
            return Optional.of(cudaInclude().resolve("cuda.h") + " not found (set CUDA_HOME)");
        }
        return Optional.empty();
    }

    private static boolean onPath(String program) {
        if (program.contains("/")) {
            return Files.isExecutable(Path.of(program));
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    private static synchronized Path build(Path outDir, List<Path> sources) {
        assumeToolchain();
        Path built = BUILT.get(sources);
        if (built != null) {
            return built;
        }
        List<String> command = new ArrayList<>();
        command.add("bash");
        command.add(emulatorDir().resolve("build.sh").toString());
        command.add(outDir.toString());
        sources.forEach(source -> command.add(source.toString()));
        run(command, "building the CUDA emulator");
        Path library = outDir.resolve(LIBRARY_NAME);
        if (!Files.isRegularFile(library)) {
            throw new IllegalStateException("build.sh succeeded but " + library + " does not exist");
        }
        BUILT.put(sources, library);
        return library;
    }

    private static void run(List<String> command, String what) {
        try {
            Path log = Files.createTempFile("catnap-cuda-emu", ".log");
            try {
                Process process = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
                if (!process.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                    process.destroyForcibly();
                    throw new IllegalStateException(what + " took longer than " + BUILD_TIMEOUT_MINUTES + " minutes: "
                            + String.join(" ", command));
                }
                if (process.exitValue() != 0) {
                    throw new IllegalStateException(what + " failed (exit " + process.exitValue() + "): "
                            + String.join(" ", command) + "\n" + Files.readString(log, StandardCharsets.UTF_8));
                }
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new IllegalStateException(what + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted", e);
        }
    }

    private static String digest(List<Path> sources) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path source : sources) {
                sha.update(source.toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
