package dev.catnap.cli;

import dev.catnap.engine.gguf.GGMLType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap synthetic-model}: a full-size StarCoder-1B-architecture GGUF with random weights, for benchmarks. */
@Command(
        name = "synthetic-model",
        mixinStandardHelpOptions = true,
        description = {
            "Write a StarCoder-architecture GGUF with random weights: by default StarCoder-1B's shapes (24 blocks, 2048",
            "wide, 16 heads, one KV head, FFN 8192, context 8192), so it costs what the real model costs in `catnap bench`",
            "and `catnap cold-start`. Its completions are noise. The file is streamed, never held in memory.",
        })
final class SyntheticModelCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "Where to write the model.")
    Path out;

    @Option(
            names = "--type",
            defaultValue = "q8_0",
            paramLabel = "q8_0|q4_0|f16",
            description = "Weight type (default ${DEFAULT-VALUE}).")
    String type;

    @Option(
            names = "--vocab",
            paramLabel = "VOCAB.gguf",
            description =
                    "GGUF whose tokenizer.* keys to use (e.g. ggml-vocab-starcoder.gguf); default: a byte-level vocabulary of StarCoder's size.")
    Path vocab;

    @Option(
            names = "--layers",
            defaultValue = "24",
            paramLabel = "N",
            description = "Transformer blocks (default ${DEFAULT-VALUE}).")
    int layers;

    @Override
    public Integer call() throws IOException {
        GGMLType weights = switch (type.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> GGMLType.Q8_0;
            case "q4_0" -> GGMLType.Q4_0;
            case "f16" -> GGMLType.F16;
            default -> throw new UserError("--type must be q8_0, q4_0 or f16, got " + type);
        };
        if (layers < 1 || layers > 200) throw new UserError("--layers must be in 1..200");
        if (vocab != null && !Files.isRegularFile(vocab)) throw new UserError("no such vocabulary file: " + vocab);
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new UserError("no such directory: " + parent);
        Path tokenizer = vocab;
        Path tmp = null;
        try {
            if (tokenizer == null) {
                tmp = Files.createTempFile("catnap-synthetic-vocab", ".gguf");
                SyntheticVocabulary.write(tmp, SyntheticVocabulary.STARCODER_SIZE);
                tokenizer = tmp;
            }
            long start = System.nanoTime();
            try {
                SyntheticStarCoder.write(out, weights, tokenizer, layers, 2048, 16, 8192, 8192);
            } catch (IllegalArgumentException e) {
                throw new UserError("cannot write " + out + ": " + e.getMessage());
            }
            spec.commandLine()
                    .getOut()
                    .printf(
                            Locale.ROOT,
                            "%s: %d blocks, %s, %.1f MiB in %.1f s%n",
                            out,
                            layers,
                            type.toLowerCase(Locale.ROOT),
                            Files.size(out) / 1048576.0,
                            (System.nanoTime() - start) / 1e9);
            spec.commandLine().getOut().flush();
        } finally {
            if (tmp != null) Files.deleteIfExists(tmp);
        }
        return 0;
    }
}
