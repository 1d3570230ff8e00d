package dev.catnap.cli;

import dev.catnap.registry.CachedModel;
import dev.catnap.registry.ModelCache;
import dev.catnap.registry.ModelsDir;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap models}: what the model cache holds, reading only local files. */
@Command(
        name = "models",
        mixinStandardHelpOptions = true,
        description = {
            "List the models in the model cache: id, size, status and path.",
            "Status: verified (files hashed and unchanged since), unverified (complete but not checked, e.g. made by Tabby; "
                    + "'catnap download' verifies it without the network), incomplete (an interrupted download), broken (unreadable tabby.json).",
        })
final class ModelsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--models-dir",
            paramLabel = "DIR",
            description =
                    "Model cache (default: $TABBY_MODEL_CACHE_ROOT, else $TABBY_ROOT/models, else ~/.tabby/models).")
    Path modelsDir;

    @Override
    public Integer call() {
        Path dir = modelsDir != null ? modelsDir : ModelsDir.resolve(System.getenv());
        List<CachedModel> models = new ModelCache(dir).inspect();
        PrintWriter out = spec.commandLine().getOut();
        if (models.isEmpty()) {
            out.println("no models in " + dir);
            out.flush();
            return 0;
        }
        int idWidth = Math.max(
                5,
                models.stream().mapToInt(m -> m.id().toString().length()).max().orElse(0));
        String row = "%-" + idWidth + "s  %10s  %-10s  %s%n";
        out.printf(Locale.ROOT, row, "MODEL", "SIZE", "STATUS", "PATH");
        for (CachedModel m : models) {
            out.printf(
                    Locale.ROOT,
                    row,
                    m.id(),
                    size(m.sizeBytes()),
                    m.status().name().toLowerCase(Locale.ROOT),
                    m.dir());
        }
        out.flush();
        return 0;
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
    }
}
