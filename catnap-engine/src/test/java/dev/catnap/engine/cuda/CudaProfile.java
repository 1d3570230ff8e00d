package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Architecture;
import dev.catnap.engine.model.ModelConfig;
import dev.catnap.engine.model.SequenceCache;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Where the GPU's time goes, for a session on a GPU machine that has minutes to find out: one prompt step, then
 * decode steps for each batch size at a given context length, each profiled kernel by kernel (GPU time per kind of
 * kernel, bandwidth of the products) and then timed as the engine runs it (captured graph, logits copied back).
 *
 * <p>A developer program, kept with the engine's tests out of catnap.jar; {@code scripts/gpu-check} runs it from the
 * GPU bundle: {@code java -cp kernels:test/classes:catnap.jar dev.catnap.engine.cuda.CudaProfile MODEL.gguf
 * [prompt-rows] [context] [batches]}
 * with defaults 256 (the batched model's largest step), 512 and {@code 1,10}.
 */
public final class CudaProfile {
    private static final int TIMED_STEPS = 50;

    private CudaProfile() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: CudaProfile MODEL.gguf [prompt-rows=256] [context=512] [batches=1,10]");
            System.exit(2);
        }
        int promptRows = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 512;
        int[] batches = Arrays.stream((args.length > 3 ? args[3] : "1,10").split(","))
                .mapToInt(Integer::parseInt)
                .toArray();
        PrintStream out = System.out;
        try (GGUFFile file = GGUFFile.open(Path.of(args[0]))) {
            ModelConfig c = Architecture.decoderConfig(file);
            int maxBatch = Arrays.stream(batches).max().orElse(1);
            try (var decoder =
                    (DeviceDecoder) CudaDecoders.load(file, c, Cuda.open(0), CudaDecoders.kernelImage(), maxBatch)) {
                out.println(file.path().getFileName() + " on " + decoder.description());
                profilePrompt(decoder, c, promptRows, out);
                for (int batch : batches) profileDecode(decoder, c, batch, context, out);
            }
        }
    }

    private static void profilePrompt(DeviceDecoder decoder, ModelConfig c, int rows, PrintStream out) {
        try (SequenceCache cache = decoder.newCache(rows)) {
            int[] tokens = tokens(rows, c.vocabSize()), positions = new int[rows];
            for (int t = 0; t < rows; t++) positions[t] = t;
            SequenceCache[] caches = new SequenceCache[rows];
            Arrays.fill(caches, cache);
            int[] last = {rows - 1};
            decoder.profile(tokens, positions, caches, last); // the first run pays for lazy module loading
            report("prompt step, " + rows + " rows", decoder.profile(tokens, positions, caches, last), rows, out);
            float[] logits = new float[c.vocabSize()];
            long start = System.nanoTime();
            for (int i = 0; i < 3; i++) decoder.forward(tokens, positions, caches, last, logits);
            double ms = (System.nanoTime() - start) / 3e6;
            out.printf(Locale.ROOT, "  as run: %.3f ms per step = %.0f prompt tokens/s%n%n", ms, rows * 1000 / ms);
        }
    }

    private static void profileDecode(DeviceDecoder decoder, ModelConfig c, int batch, int context, PrintStream out) {
        List<SequenceCache> owned = new ArrayList<>();
        try {
            SequenceCache[] caches = new SequenceCache[batch];
            for (int s = 0; s < batch; s++) {
                caches[s] = decoder.newCache(context + 1);
                owned.add(caches[s]);
                // The keys and values only need to be there; their values do not change the cost.
                int fill = Math.min(context, 256);
                for (int from = 0; from < context; from += fill) {
                    int n = Math.min(fill, context - from);
                    int[] positions = new int[n];
                    for (int t = 0; t < n; t++) positions[t] = from + t;
                    SequenceCache[] same = new SequenceCache[n];
                    Arrays.fill(same, caches[s]);
                    decoder.forward(tokens(n, c.vocabSize()), positions, same, new int[0], new float[0]);
                }
            }
            int[] tokens = tokens(batch, c.vocabSize()), positions = new int[batch], rows = new int[batch];
            for (int s = 0; s < batch; s++) {
                positions[s] = context;
                rows[s] = s;
            }
            report(
                    "decode step, " + batch + " sequence(s) at position " + context,
                    decoder.profile(tokens, positions, caches, rows),
                    batch,
                    out);
            float[] logits = new float[batch * c.vocabSize()];
            decoder.forward(tokens, positions, caches, rows, logits); // captures the graph
            long start = System.nanoTime();
            for (int i = 0; i < TIMED_STEPS; i++) decoder.forward(tokens, positions, caches, rows, logits);
            double ms = (System.nanoTime() - start) / (TIMED_STEPS * 1e6);
            out.printf(
                    Locale.ROOT,
                    "  as run (graph replay, logits copied back): %.3f ms per step = %.0f tokens/s%n%n",
                    ms,
                    batch * 1000 / ms);
        } finally {
            for (SequenceCache cache : owned) cache.close();
        }
    }

    private static void report(String title, List<KernelTimeline.OpTime> ops, int rows, PrintStream out) {
        double total = ops.stream().mapToDouble(KernelTimeline.OpTime::millis).sum();
        out.printf(Locale.ROOT, "%s: %.3f ms of kernels = %.0f tokens/s%n", title, total, rows * 1000 / total);
        out.printf(Locale.ROOT, "  %-34s %6s %9s %6s %9s %9s%n", "kernel", "calls", "ms", "share", "GB/s", "TFLOP/s");
        ops.stream()
                .sorted((a, b) -> Double.compare(b.millis(), a.millis()))
                .forEach(o -> out.printf(
                        Locale.ROOT,
                        "  %-34s %6d %9.3f %5.1f%% %9.0f %9.2f%n",
                        o.label(),
                        o.calls(),
                        o.millis(),
                        100 * o.millis() / total,
                        o.gigabytesPerSecond(),
                        o.teraflops()));
    }

    private static int[] tokens(int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = (int) ((i * 7919L + 13) % Math.min(vocab, 30000));
        return t;
    }
}
