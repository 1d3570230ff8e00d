package dev.catnap.cli;

import dev.catnap.engine.Engine;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.tokenizer.Prompt;
import dev.catnap.engine.tokenizer.SpecialTokens;
import dev.catnap.engine.tokenizer.StreamingDecoder;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap generate}: one completion from a GGUF model, printed as it is generated. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = {
            "Generate a completion with a local GGUF model (starcoder, qwen2, llama) and print it.",
            "With --suffix the prompt is a fill-in-the-middle prompt: <fim_prefix>PROMPT<fim_suffix>SUFFIX<fim_middle>.",
        })
final class GenerateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    EngineModelOptions engine;

    @CommandLine.Mixin
    DeviceOption device;

    @Option(
            names = "--prompt",
            required = true,
            paramLabel = "TEXT",
            description = "Prompt text (the prefix with --suffix).")
    String prompt;

    @Option(
            names = "--suffix",
            paramLabel = "TEXT",
            description = "Text after the cursor: makes a fill-in-the-middle prompt.")
    String suffix;

    @Option(
            names = "--max-tokens",
            defaultValue = "64",
            paramLabel = "N",
            description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(
            names = "--temperature",
            defaultValue = "0",
            paramLabel = "T",
            description = "0 (default) is greedy; above 0 samples with Tabby's top-k 40, top-p 0.95, min-p 0.05.")
    float temperature;

    @Option(
            names = "--seed",
            defaultValue = "0",
            paramLabel = "N",
            description = "Random seed for sampling (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 1) throw new UserError("--max-tokens must be at least 1");
        if (temperature < 0 || Float.isNaN(temperature)) throw new UserError("--temperature must be 0 or more");
        var options = engine.engineOptions(1);
        device.gpus();
        options = options.withDevice(device.device);
        PrintWriter out = spec.commandLine().getOut();
        try (LanguageModel lm = engine.load(Engine::languageModel, options)) {
            int[] tokens = promptTokens(lm.tokenizer(), prompt, suffix);
            SamplingParams sampling = temperature == 0
                    ? SamplingParams.greedy()
                    : SamplingParams.tabbyDefaults()
                            .withTemperature(temperature)
                            .withSeed(seed);
            int max = Math.min(maxTokens, lm.maxPositions() - tokens.length);
            if (max < 1) {
                throw new UserError("the prompt (" + tokens.length + " tokens) fills the " + lm.maxPositions()
                        + " positions this model allows one sequence");
            }
            StreamingDecoder decoder = lm.tokenizer().streamingDecoder();
            Tokenizer tokenizer = lm.tokenizer();
            var done = new CompletableFuture<FinishReason>();
            lm.submit(new GenerationRequest(tokens, max, sampling), new TokenSink() {
                @Override
                public boolean accept(int token) {
                    if (tokenizer.isEndOfGeneration(token)) return true;
                    out.print(decoder.push(token));
                    out.flush();
                    return true;
                }

                @Override
                public void finished(FinishReason reason, Throwable errorOrNull) {
                    if (errorOrNull != null) done.completeExceptionally(errorOrNull);
                    else done.complete(reason);
                }
            });
            try {
                done.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(
                        "generation failed: " + e.getCause().getMessage(), e.getCause());
            }
            out.println(decoder.flush());
            out.flush();
        }
        return 0;
    }

    /**
     * Plain: the text with the vocabulary's BOS rule. FIM: prefix, suffix and middle markers around the two parts (PSM
     * order), as the server builds it: a {@link Prompt} whose user parts never become control tokens.
     */
    static int[] promptTokens(Tokenizer tokenizer, String prompt, String suffix) {
        if (suffix == null) return tokenizer.encode(Prompt.of(new Prompt.Text(prompt)), true);
        SpecialTokens s = tokenizer.specialTokens();
        if (s.fimPrefix() < 0 || s.fimSuffix() < 0 || s.fimMiddle() < 0) {
            throw new UserError("this model's vocabulary has no fill-in-the-middle tokens; --suffix cannot be used");
        }
        return tokenizer.encode(
                Prompt.builder()
                        .template(text(tokenizer, s.fimPrefix()))
                        .text(prompt)
                        .template(text(tokenizer, s.fimSuffix()))
                        .text(suffix)
                        .template(text(tokenizer, s.fimMiddle()))
                        .build(),
                true);
    }

    private static String text(Tokenizer tokenizer, int id) {
        return new String(tokenizer.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8);
    }
}
