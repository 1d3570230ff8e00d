package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.catnap.engine.Device;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.FinishReason;
import dev.catnap.engine.GenerationRequest;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.SamplingParams;
import dev.catnap.engine.TokenSink;
import dev.catnap.engine.cpu.CpuBackend;
import dev.catnap.engine.cpu.CpuDecoder;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Architecture;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.Fixtures;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CUDA decoder on a real GPU against the CPU decoder. Skipped, with the driver's reason, where there is none
 * (run them there with scripts/gpu-check).
 */
@Timeout(300)
class CudaDecoderGpuTest {
    /** Per test, so that each skip is reported with the driver's reason (a class-level skip loses it). */
    @BeforeEach
    void gpu() {
        CudaProbe probe = Cuda.probe();
        assumeTrue(probe.available(), () -> "no CUDA device: " + probe.unavailableReason());
    }

    static Decoder onGpu(GGUFFile file, int maxSequences) {
        return CudaDecoders.load(
                file, Architecture.decoderConfig(file), Cuda.open(0), CudaKernelsImage.required(), maxSequences);
    }

    /**
     * Decode steps: fused multiply-adds in another summation order and the device's expf; 1e-3 on logits of order 1
     * allows that and nothing structural. Prompt steps round activations to F16 for the tensor cores (4.4e-4 on the
     * emulator); 5e-3. F32 weights are left to the emulator test: the GPU bundle has room for the quantized fixtures
     * only, which are what Tabby's models use.
     */
    @ParameterizedTest
    @CsvSource({
        "synth-starcoder-tiny-q8_0, 5e-3, 1e-3",
        "synth-starcoder-tiny-q4_0, 5e-3, 1e-3",
        "synth-qwen2-tiny-q8_0, 5e-3, 1e-3",
    })
    void logitsAgreeWithTheCpuDecoder(String name, float promptTolerance, float tolerance) throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model(name + ".gguf"));
                Decoder cpu = CpuDecoder.load(
                        file,
                        Architecture.decoderConfig(file),
                        new CpuBackend(Runtime.getRuntime().availableProcessors(), false));
                Decoder cuda = onGpu(file, 10)) {
            int vocab = cpu.config().vocabSize();
            assertThat(DecoderAgreement.prefill(cpu, cuda, DecoderAgreement.tokens(300, 1, Math.min(vocab, 5000))))
                    .as("a 300-row prompt step")
                    .isLessThanOrEqualTo(promptTolerance);
            assertThat(DecoderAgreement.decode(cpu, cuda, 10, 20, 8))
                    .as("10 sequences decoding together")
                    .isLessThanOrEqualTo(tolerance);
        }
    }

    @Test
    void greedyTokensOfTheTrainedModelAreTheCpuDecodersTokens() throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
                Decoder cpu = CpuDecoder.load(
                        file,
                        Architecture.decoderConfig(file),
                        new CpuBackend(Runtime.getRuntime().availableProcessors(), false));
                Decoder cuda = onGpu(file, 1)) {
            int[] prompt = Tokenizer.fromGGUF(file.metadata()).encode("def fibonacci(n):\n    ", false, false);
            assertThat(DecoderAgreement.greedy(cuda, prompt, 48)).isEqualTo(DecoderAgreement.greedy(cpu, prompt, 48));
        }
    }

    @Test
    void theBatchedModelGeneratesTheSameTextOnBothDevices() throws Exception {
        var options = new EngineOptions(4, 4, 256L << 20);
        String prompt = "import os\n\ndef list_files(path):\n";
        assertThat(generate(options.withDevice(Device.CUDA), prompt)).isEqualTo(generate(options, prompt));
    }

    private static List<Integer> generate(EngineOptions options, String prompt) throws Exception {
        try (LanguageModel model = Engine.languageModel(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"), options)) {
            int[] tokens = model.tokenizer().encode(prompt, false, false);
            List<Integer> out = new ArrayList<>();
            var done = new CompletableFuture<FinishReason>();
            model.submit(new GenerationRequest(tokens, 32, SamplingParams.greedy()), new TokenSink() {
                @Override
                public boolean accept(int token) {
                    out.add(token);
                    return true;
                }

                @Override
                public void finished(FinishReason reason, Throwable error) {
                    if (error != null) done.completeExceptionally(error);
                    else done.complete(reason);
                }
            });
            done.get(120, TimeUnit.SECONDS);
            return out;
        }
    }
}
