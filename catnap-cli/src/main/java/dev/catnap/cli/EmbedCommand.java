package dev.catnap.cli;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.EngineOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code catnap embed}: one normalised embedding per input text, as JSON arrays. */
@Command(
        name = "embed",
        mixinStandardHelpOptions = true,
        description = "Embed texts with a local GGUF embedding model (bert, nomic-bert); prints one JSON array per text.")
final class EmbedCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF embedding model file.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: physical cores).")
    Integer threads;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to embed.")
    List<String> texts;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(model)) throw new UserError("model file not found: " + model);
        var options = EngineOptions.defaults().withMaxSequences(1);
        if (threads != null) {
            if (threads < 1) throw new UserError("--threads must be at least 1");
            options = options.withThreads(threads);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingModel em = load(options)) {
            for (String text : texts) {
                float[] v;
                try {
                    v = em.embed(text);
                } catch (IllegalArgumentException e) {
                    throw new UserError(e.getMessage());
                }
                var b = new StringBuilder(v.length * 12).append('[');
                for (int i = 0; i < v.length; i++) {
                    if (i > 0) b.append(',');
                    b.append(v[i]);
                }
                out.println(b.append(']'));
            }
        }
        out.flush();
        return 0;
    }

    private EmbeddingModel load(EngineOptions options) {
        try {
            return EmbeddingModel.load(model, options);
        } catch (IOException e) {
            throw new UserError("cannot read model " + model + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(model.getFileName() + ": " + e.getMessage());
        }
    }
}
