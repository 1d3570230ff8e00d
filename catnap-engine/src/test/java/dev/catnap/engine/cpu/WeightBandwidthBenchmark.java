package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.gguf.Quantize;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Bytes of weights a product reads per second, against the machine's streaming-read ceiling, in one run.
 *
 * <p>{@code product}: one-token products (decoding) over a set of 2048 x 5632 matrices of one weight type, 384 MiB of
 * weights in all, taken in turn so that every product streams its weights from memory as decoding does.
 * {@code streamingRead}: a plain vector sum over a 1 GiB file mapped like a GGUF, on the same number of threads,
 * the ceiling for any kernel that reads each weight once. Both report {@code bytes} per second in the {@code ·bytes} secondary result; divide the
 * product's by the read's for the fraction of the ceiling.
 *
 * <p>Run: {@code scripts/jmh catnap-engine WeightBandwidthBenchmark -f 1 -wi 2 -i 5 -p threads=2}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:MaxInlineLevel=30", "-Xmx4g"})
public class WeightBandwidthBenchmark {
    static final int COLS = 2048;
    static final int ROWS = 5632;
    static final long WEIGHT_BYTES = 384L << 20;
    static final long FILE_BYTES = 1L << 30;

    @Param({"Q8_0", "Q4_0", "F16"})
    public String type;

    @Param({"1", "2"})
    public int threads;

    private CpuBackend backend;
    private GGUFTensor[] matrices;
    private int next;
    private float[] x;
    private float[] out;
    private Arena arena;
    private MemorySegment file;
    private Path path;
    private ComputeThreads pool;
    private long[] sums;

    /** Bytes read, counted per call: JMH reports them per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bytes {
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
        }
    }

    @Setup
    public void setUp() throws IOException {
        GGMLType t = GGMLType.valueOf(type);
        var random = new SplittableRandom(42);
        float[] values = new float[COLS * ROWS];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        byte[] encoded = Quantize.quantize(t, values);
        arena = Arena.ofShared();
        int count = (int) Math.max(2, WEIGHT_BYTES / encoded.length);
        matrices = new GGUFTensor[count];
        for (int m = 0; m < count; m++) {
            MemorySegment data = arena.allocate(encoded.length, 64);
            data.copyFrom(MemorySegment.ofArray(encoded));
            matrices[m] = new GGUFTensor("bench." + m, t, new long[] {COLS, ROWS}, data);
        }
        x = new float[COLS];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        out = new float[ROWS];
        backend = new CpuBackend(threads);
        pool = new ComputeThreads(threads);
        sums = new long[(int) (FILE_BYTES >> 20)];

        path = Files.createTempFile("catnap-bandwidth", ".bin");
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MemorySegment w = channel.map(FileChannel.MapMode.READ_WRITE, 0, FILE_BYTES, arena);
            for (long o = 0; o < FILE_BYTES; o += 4096) w.set(ValueLayout.JAVA_LONG, o, o);
            file = channel.map(FileChannel.MapMode.READ_ONLY, 0, FILE_BYTES, arena);
        }
    }

    @TearDown
    public void tearDown() throws IOException {
        backend.close();
        pool.close();
        arena.close();
        Files.deleteIfExists(path);
    }

    @Benchmark
    public float[] product(Bytes counter) {
        GGUFTensor w = matrices[next];
        next = (next + 1) % matrices.length;
        backend.matmul(w, x, out, 1, 1);
        counter.bytes += w.data().byteSize();
        return out;
    }

    /** The file in 1 MiB pieces over the same number of threads as the products, on the backend's kind of pool. */
    @Benchmark
    public long streamingRead(Bytes counter) {
        int pieces = (int) (FILE_BYTES >> 20);
        pool.run(pieces, (c, worker) -> {
            var species = LongVector.SPECIES_256;
            LongVector acc = LongVector.zero(species);
            for (long o = (long) c << 20, end = o + (1 << 20); o < end; o += 32) {
                acc = acc.add(LongVector.fromMemorySegment(species, file, o, ByteOrder.LITTLE_ENDIAN));
            }
            sums[c] = acc.reduceLanes(VectorOperators.ADD);
        });
        counter.bytes += FILE_BYTES;
        long total = 0;
        for (long s : sums) total += s;
        return total;
    }
}
