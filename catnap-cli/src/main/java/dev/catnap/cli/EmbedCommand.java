package dev.catnap.cli;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.Engine;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code catnap embed}: one normalised embedding per input text, as JSON arrays. */
@Command(
        name = "embed",
        mixinStandardHelpOptions = true,
        description =
                "Embed texts with a local GGUF embedding model (bert, nomic-bert); prints one JSON array per text.")
final class EmbedCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    EngineModelOptions engine;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to embed.")
    List<String> texts;

    @Override
    public Integer call() {
        var options = engine.engineOptions(1);
        PrintWriter out = spec.commandLine().getOut();
        try (EmbeddingModel em = engine.load(Engine::embeddingModel, options)) {
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
}
