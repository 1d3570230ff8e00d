package dev.catnap.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.cpu.CpuBackend;
import dev.catnap.engine.cpu.CpuDecoder;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Architecture;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.Fixtures;
import dev.catnap.engine.model.SequenceCache;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CUDA decoder, kernels included, run on the CPU emulator of the driver and of CUDA's execution model, against
 * the CPU decoder. This checks the Java side (uploads, step inputs, graph capture and replay, caches) and the
 * kernels' arithmetic; it says nothing of speed, and the emulator runs a warp's lanes one after another, so races
 * that only real hardware would show are out of its reach (see CudaDecoderGpuTest).
 */
@Timeout(300)
class CudaDecoderEmulatedTest {
    private Path driver;

    /** Per test, not per class: a skip (no g++) raised in @BeforeAll would reach the report without its reason. */
    @BeforeEach
    void emulator() {
        driver = CudaEmulator.library();
    }

    private Decoder onEmulator(GGUFFile file, int maxSequences) {
        return CudaDecoders.load(
                file,
                Architecture.decoderConfig(file),
                Cuda.open(driver, 0),
                CudaKernelsImage.required(),
                maxSequences);
    }

    /**
     * The CPU decoder here keeps float32 activations for Q8_0 and Q4_0 weights, as the kernels do (by default it
     * rounds them to Q8_0, as llama.cpp does). Decode steps (up to 16 rows) multiply in F32 like the CPU decoder: observed differences are summation order
     * and expf against Math.exp (observed up to 2.1e-5, on Q4_0, whose CPU kernel scales whole blocks; logits are
     * of order 1). Prompt steps of more than 16 rows run on (emulated) tensor cores with activations rounded to F16:
     * observed up to 4.4e-4. The bounds leave a margin without hiding a wrong row, position or cache.
     */
    @ParameterizedTest
    @CsvSource({
        "synth-starcoder-tiny-f32, 2e-3, 1e-4",
        "synth-starcoder-tiny-q8_0, 2e-3, 1e-4",
        "synth-starcoder-tiny-q4_0, 2e-3, 1e-4",
        "synth-qwen2-tiny-q8_0, 2e-3, 1e-4",
    })
    void logitsAgreeWithTheCpuDecoder(String name, float promptTolerance, float decodeTolerance) throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model(name + ".gguf"));
                Decoder cpu = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(1, false));
                Decoder cuda = onEmulator(file, 4)) {
            int vocab = cpu.config().vocabSize();
            assertThat(DecoderAgreement.prefill(cpu, cuda, DecoderAgreement.tokens(24, 1, Math.min(vocab, 5000))))
                    .as("a 24-row prompt step (tensor-core products)")
                    .isLessThanOrEqualTo(promptTolerance);
            assertThat(DecoderAgreement.decode(cpu, cuda, 2, 4, 3))
                    .as("2 sequences decoding together (captured graph, then replays)")
                    .isLessThanOrEqualTo(decodeTolerance);
        }
    }

    /**
     * At 100 to 150 positions each of attention's 8 stretches holds 13 to 19 keys, so warps fold several keys into
     * their running softmax before the warps and then the stretches are merged. Prompts are read by the tensor-core
     * path, so the decode steps carry its F16 rounding in their caches. The synthetic model's attention is nearly
     * uniform, which would hide a wrong softmax rescaling; the trained model's is not: there the observed
     * difference is 0.013 on logits of order 10, and dropping the rescaling makes it 6.4.
     */
    @Test
    void longContextsAgreeWithTheCpuDecoder() throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model("synth-starcoder-tiny-f32.gguf"));
                Decoder cpu = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(1, false));
                Decoder cuda = onEmulator(file, 2)) {
            assertThat(DecoderAgreement.decode(cpu, cuda, 2, 150, 2)).isLessThanOrEqualTo(2e-3f);
        }
        try (GGUFFile file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
                Decoder cpu = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(1, false));
                Decoder cuda = onEmulator(file, 1)) {
            assertThat(DecoderAgreement.decode(cpu, cuda, 1, 100, 2)).isLessThanOrEqualTo(0.05f);
        }
    }

    @Test
    void greedyTokensOfTheTrainedModelAreTheCpuDecodersTokens() throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"));
                Decoder cpu = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(1, false));
                Decoder cuda = onEmulator(file, 1)) {
            int[] prompt = Tokenizer.fromGGUF(file.metadata()).encode("def fibonacci(n):\n    ", false, false);
            assertThat(DecoderAgreement.greedy(cuda, prompt, 16)).isEqualTo(DecoderAgreement.greedy(cpu, prompt, 16));
        }
    }

    @Test
    void badRowsAreRefusedBeforeAnythingRuns() throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model("synth-starcoder-tiny-q8_0.gguf"));
                Decoder cpu = CpuDecoder.load(file, Architecture.decoderConfig(file), new CpuBackend(1, false));
                Decoder cuda = onEmulator(file, 1);
                SequenceCache heap = cpu.newCache(4);
                SequenceCache device = cuda.newCache(4)) {
            float[] logits = new float[cuda.config().vocabSize()];
            assertThatThrownBy(() -> cuda.forward(
                            new int[] {1}, new int[] {0}, new SequenceCache[] {heap}, new int[] {0}, logits))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not made by this decoder");
            assertThatThrownBy(() -> cuda.forward(
                            new int[] {1}, new int[] {4}, new SequenceCache[] {device}, new int[] {0}, logits))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("outside its cache of 4 positions");
            assertThatThrownBy(() -> cuda.forward(
                            new int[] {1}, new int[] {0}, new SequenceCache[] {device}, new int[] {1}, logits))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("logit row 1");
            assertThatThrownBy(() -> cuda.forward(
                            new int[] {1, 2},
                            new int[] {0, 1},
                            new SequenceCache[] {device, device},
                            new int[] {1, 1},
                            new float[2 * cuda.config().vocabSize()]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("ascending");
            assertThatThrownBy(() -> cuda.forward(
                            new int[] {1, 2}, new int[] {0}, new SequenceCache[] {device}, new int[] {0}, logits))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("2 tokens but 1 positions");
        }
    }

    @Test
    void aProfiledStepAccountsForEveryKernel() throws Exception {
        try (GGUFFile file = GGUFFile.open(Fixtures.model("synth-starcoder-tiny-q8_0.gguf"));
                var cuda = (DeviceDecoder) onEmulator(file, 1);
                SequenceCache cache = cuda.newCache(4)) {
            int layers = cuda.config().layers();
            var ops = cuda.profile(new int[] {1}, new int[] {0}, new SequenceCache[] {cache}, new int[] {0});
            var calls = new java.util.HashMap<String, Integer>();
            for (var op : ops) calls.merge(op.label().split(" ")[0], op.calls(), Integer::sum);
            // Two embeddings; per layer two norms, four products, a cache store and attention; the output norm and
            // head.
            assertThat(calls)
                    .containsEntry("embed", 2)
                    .containsEntry("layer_norm", 2 * layers + 1)
                    .containsEntry("matvec", 4 * layers + 1)
                    .containsEntry("kv_store", layers)
                    .containsEntry("attention", layers);
            assertThat(ops).allSatisfy(op -> assertThat(op.millis()).isGreaterThanOrEqualTo(0));
            assertThat(ops.stream().filter(op -> op.label().startsWith("matvec")))
                    .allSatisfy(op -> assertThat(op.bytes()).isPositive());
        }
    }

    @Test
    void closingTheDecoderGivesItsDeviceMemoryBack() throws Exception {
        try (CudaContext observer = Cuda.open(driver, 0);
                GGUFFile file = GGUFFile.open(Fixtures.model("synth-starcoder-tiny-q8_0.gguf"))) {
            long before = observer.freeMemory();
            Decoder cuda = onEmulator(file, 2);
            SequenceCache cache = cuda.newCache(64);
            assertThat(observer.freeMemory())
                    .isLessThan(before
                            - file.tensors().get("token_embd.weight").data().byteSize());
            cache.close();
            cuda.close();
            assertThat(observer.freeMemory()).isEqualTo(before);
        }
    }
}
