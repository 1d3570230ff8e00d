package dev.catnap.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.engine.Engine;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.cuda.CudaDevice;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code catnap bench}: prompt processing and generation speed through the same continuous batch the server uses,
 * printed as one JSON object. Prompts are random token ids (seeded), so the model's tokenizer is not involved.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Measure a GGUF model's speed: prompt tokens/s, time to first token, aggregate generated tokens/s for each",
            "batch size (that many sequences decoding together), and peak resident memory. Prints one JSON object.",
        })
final class BenchCommand implements Callable<Integer> {
    /** Prompt of each generation sequence: short, so the generation figures measure decoding. */
    private static final int GENERATION_PROMPT = 16;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    EngineModelOptions engine;

    @CommandLine.Mixin
    DeviceOption device;

    @Option(
            names = "--prompt-tokens",
            defaultValue = "512",
            paramLabel = "N",
            description = "Prompt length for prompt processing (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(
            names = "--gen-tokens",
            defaultValue = "128",
            paramLabel = "N",
            description = "Tokens generated per sequence (default ${DEFAULT-VALUE}).")
    int genTokens;

    @Option(
            names = "--batch",
            defaultValue = "1,10",
            split = ",",
            paramLabel = "N[,N...]",
            description = "Sequences decoding together, one measurement each (default ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(
            names = "--repetitions",
            defaultValue = "2",
            paramLabel = "N",
            description =
                    "Times each measurement is taken, after one warm-up run of it; the mean is reported (default ${DEFAULT-VALUE}, as compare-bench asks of llama-bench).")
    int repetitions;

    @Override
    public Integer call() throws Exception {
        if (promptTokens < 1) throw new UserError("--prompt-tokens must be at least 1");
        if (genTokens < 2) throw new UserError("--gen-tokens must be at least 2");
        if (repetitions < 1 || repetitions > 100)
            throw new UserError("--repetitions must be between 1 and 100, got " + repetitions);
        int maxBatch = 1;
        for (int b : batches) {
            if (b < 1 || b > 64) throw new UserError("--batch sizes must be between 1 and 64, got " + b);
            maxBatch = Math.max(maxBatch, b);
        }
        var options = engine.engineOptions(maxBatch);
        List<CudaDevice> gpus = device.gpus();
        options = options.withKvCacheBudget(Long.MAX_VALUE / 4).withDevice(device.device);
        long loadStart = System.nanoTime();
        try (LanguageModel lm = engine.load(Engine::languageModel, options)) {
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            int context = lm.contextLength();
            if (promptTokens + 1 > context) throw new UserError("--prompt-tokens exceeds the context of " + context);
            if (GENERATION_PROMPT + genTokens > context)
                throw new UserError("--gen-tokens exceeds the context of " + context);
            int vocab = lm.tokenizer().vocabSize();
            var random = new SplittableRandom(1234);

            // Warm-up: each measurement once, unmeasured, as llama-bench does, so that the JIT has compiled the kernels
            // of the prompt path and of every batch size's decoding path before the clock runs (on two cores the
            // compiler threads would otherwise take one core from the measured run).
            run(lm, List.of(randomPrompt(random, vocab, promptTokens)), 1);
            for (int b : batches) run(lm, prompts(random, vocab, b), Math.min(genTokens, 16));

            double promptSeconds = 0;
            for (int i = 0; i < repetitions; i++) {
                promptSeconds += run(lm, List.of(randomPrompt(random, vocab, promptTokens)), 1).firstTokenSeconds;
            }
            double ttft = promptSeconds / repetitions;

            List<Map<String, Object>> generation = new ArrayList<>();
            for (int b : batches) {
                double tokensPerSecond = 0;
                for (int i = 0; i < repetitions; i++) {
                    Timing t = run(lm, prompts(random, vocab, b), genTokens);
                    // Tokens after each sequence's first; a random-weight model may rarely end a sequence early.
                    tokensPerSecond += t.tokens / (t.endSeconds - t.allStartedSeconds);
                }
                tokensPerSecond /= repetitions;
                Map<String, Object> g = new LinkedHashMap<>();
                g.put("batch", b);
                g.put("tokens_per_second", round(tokensPerSecond, 2));
                g.put("per_sequence_tokens_per_second", round(tokensPerSecond / b, 2));
                generation.add(g);
            }
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", engine.model.getFileName().toString());
            report.put("architecture", lm.architecture());
            report.put("device", options.device().label());
            // The engine runs on the driver's first device.
            if (!gpus.isEmpty()) report.put("gpu", gpus.getFirst().name());
            report.put("threads", options.threads());
            report.put("repetitions", repetitions);
            report.put("load_seconds", round(loadSeconds, 2));
            report.put("prompt_tokens", promptTokens);
            report.put("prompt_tokens_per_second", round(promptTokens / ttft, 2));
            report.put("time_to_first_token_ms", round(ttft * 1000, 1));
            report.put("gen_tokens", genTokens);
            report.put("generation", generation);
            report.put("peak_rss_mib", round(peakRssKiB() / 1024.0, 1));
            out.println(new ObjectMapper().writeValueAsString(report));
            out.flush();
        }
        return 0;
    }

    private record Timing(double firstTokenSeconds, double allStartedSeconds, double endSeconds, long tokens) {}

    /** Submits all prompts at once and waits for them; times are from submission. */
    private static Timing run(LanguageModel lm, List<int[]> prompts, int newTokens) throws Exception {
        long start = System.nanoTime();
        long[] first = new long[prompts.size()];
        var produced = new java.util.concurrent.atomic.AtomicLong();
        List<CompletableFuture<FinishReason>> done = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            int index = i;
            var finished = new CompletableFuture<FinishReason>();
            done.add(finished);
            lm.submit(new GenerationRequest(prompts.get(i), newTokens, SamplingParams.greedy()), new TokenSink() {
                int count;

                @Override
                public boolean accept(int token) {
                    if (count++ == 0) first[index] = System.nanoTime();
                    else produced.incrementAndGet();
                    return true;
                }

                @Override
                public void finished(FinishReason reason, Throwable errorOrNull) {
                    if (errorOrNull != null) finished.completeExceptionally(errorOrNull);
                    else finished.complete(reason);
                }
            });
        }
        for (var f : done) {
            FinishReason reason = f.get(1, TimeUnit.HOURS);
            if (reason != FinishReason.LENGTH && reason != FinishReason.END_OF_GENERATION) {
                throw new IllegalStateException("a benchmark sequence ended early (" + reason + ")");
            }
        }
        long end = System.nanoTime();
        long firstMin = Long.MAX_VALUE, firstMax = 0;
        for (long f : first) {
            firstMin = Math.min(firstMin, f);
            firstMax = Math.max(firstMax, f);
        }
        return new Timing((firstMin - start) / 1e9, (firstMax - start) / 1e9, (end - start) / 1e9, produced.get());
    }

    private static List<int[]> prompts(SplittableRandom random, int vocab, int count) {
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < count; i++) prompts.add(randomPrompt(random, vocab, GENERATION_PROMPT));
        return prompts;
    }

    private static int[] randomPrompt(SplittableRandom random, int vocab, int length) {
        // Ids from the low part of the vocabulary: ordinary tokens, no special ones that could end generation early.
        int[] p = new int[length];
        for (int i = 0; i < length; i++) p[i] = 100 + random.nextInt(Math.max(1, Math.min(vocab, 30_000) - 100));
        return p;
    }

    /** Peak resident set size in KiB (VmHWM), or 0 where /proc is not available. */
    static long peakRssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    private static double round(double v, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(v * scale) / scale;
    }
}
