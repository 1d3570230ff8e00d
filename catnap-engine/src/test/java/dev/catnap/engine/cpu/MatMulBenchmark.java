package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.gguf.Quantize;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * One matmul of a 2048 x 4096 weight matrix (a 1B model's FFN-up shape, 8.4M weights: larger than the caches, so
 * one-token results are bound by how fast the weights stream in) against {@code tokens} activations, on
 * {@code threads} compute threads, for every weight type with a kernel. Weights are random: Q8_0, Q4_0 and F16 are
 * quantized from N(0, 1) values, the k-quants and BF16 are random blocks (any bytes with finite scales).
 *
 * <p>Run: {@code scripts/jmh catnap-engine MatMulBenchmark -f 1 -wi 3 -i 5} (add {@code -p tokens=1} etc.; {@code -p
 * tokens=10 -p decoding=true} for ten decoding sequences).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:MaxInlineLevel=30", "-Xmx2g"})
public class MatMulBenchmark {
    static final int COLS = 2048;
    static final int ROWS = 4096;

    @Param({"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16"})
    public String type;

    @Param({"1", "16"})
    public int tokens;

    @Param({"1"})
    public int threads;

    /** Whether the tokens are single tokens of decoding sequences (batched decoding) rather than a prompt's rows. */
    @Param({"false"})
    public boolean decoding;

    private CpuBackend backend;
    private GGUFTensor weights;
    private float[] x;
    private float[] out;

    @Setup
    public void setUp() {
        GGMLType t = GGMLType.valueOf(type);
        var random = new SplittableRandom(42);
        MemorySegment data = switch (t) {
            case Q4_K, Q5_K, Q6_K, BF16 -> KQuantMatMulTest.randomBlocks(t, COLS, ROWS, random, 0.01f);
            default -> {
                float[] values = new float[COLS * ROWS];
                for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
                yield MemorySegment.ofArray(Quantize.quantize(t, values));
            }
        };
        // Off-heap, like the mapped file the engine reads.
        MemorySegment native_ = Arena.ofAuto().allocate(data.byteSize(), 64);
        native_.copyFrom(data);
        weights = new GGUFTensor("bench." + type, t, new long[] {COLS, ROWS}, native_);
        x = new float[tokens * COLS];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        out = new float[tokens * ROWS];
        backend = new CpuBackend(threads);
    }

    @TearDown
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public float[] matmul() {
        backend.matmul(weights, x, out, tokens, decoding ? tokens : 0);
        return out;
    }
}
