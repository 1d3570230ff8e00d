package dev.catnap.cli;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.index.Checkouts;
import dev.catnap.index.Chunker;
import dev.catnap.index.CodeIndex;
import dev.catnap.index.Embedder;
import dev.catnap.index.IndexException;
import dev.catnap.index.Indexer;
import dev.catnap.index.Repository;
import dev.catnap.index.SearchMode;
import dev.catnap.registry.ModelsDir;
import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap index}: builds or refreshes the code index of the configured repositories. */
@Command(
        name = "index",
        mixinStandardHelpOptions = true,
        description = {
            "Build or refresh the code index that completions draw repository context from (and /v1beta/search).",
            "Incremental: only files whose git blob changed since the last run are read. Repositories come from",
            "--repository and from [[repositories]] in Tabby's config.toml. Without --embedding-model the index has BM25 only.",
        })
final class IndexCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(IndexCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    RepositoryOptions repos;

    @Option(
            names = "--embedding-model",
            paramLabel = "ID|DIR|FILE",
            description =
                    "Embedding model (nomic-bert, e.g. TabbyML/Nomic-Embed-Text) for the vector half of the index; serve must use the same one.")
    String embeddingModel;

    @Option(
            names = "--models-dir",
            paramLabel = "DIR",
            description =
                    "Model cache (default $TABBY_MODEL_CACHE_ROOT, else $TABBY_ROOT/models, else ~/.tabby/models).")
    Path modelsDir;

    @Option(names = "--threads", paramLabel = "N", description = "Embedding threads (default: physical cores).")
    Integer threads;

    @Option(
            names = "--chunk-size",
            defaultValue = "512",
            paramLabel = "CHARS",
            description = "Most characters per chunk (default ${DEFAULT-VALUE}, as Tabby).")
    int chunkSize;

    @Option(names = "--rebuild", description = "Start the index over (after corruption, or to drop everything).")
    boolean rebuild;

    @Option(
            names = "--prune",
            description = "Also drop repositories that the index holds but that are no longer configured.")
    boolean prune;

    @Option(
            names = "--progress",
            paramLabel = "auto|bar|log",
            defaultValue = "auto",
            description =
                    "Progress display: a bar on a terminal, periodic log lines otherwise (default: ${DEFAULT-VALUE}).")
    DownloadCommand.ProgressMode progress;

    @Override
    public Integer call() throws IOException {
        Map<String, String> env = System.getenv();
        List<Repository> repositories = repos.resolve(env);
        if (repositories.isEmpty())
            throw new UserError("no repositories: give --repository PATH_OR_GIT_URL or [[repositories]] in "
                    + (repos.config != null ? repos.config : "config.toml"));
        if (chunkSize < 64) throw new UserError("--chunk-size must be at least 64");
        Path indexDir = repos.indexDir(env);
        PrintWriter out = spec.commandLine().getOut();
        Optional<EmbeddingModel> model = Optional.empty();
        Optional<Embedder> embedder = Optional.empty();
        if (embeddingModel != null) {
            ModelLocation at;
            try {
                at = ModelLocation.resolve(embeddingModel, modelsDir != null ? modelsDir : ModelsDir.resolve(env));
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            EngineOptions options = EngineOptions.defaults().withMaxSequences(1);
            if (threads != null) {
                if (threads < 1) throw new UserError("--threads must be at least 1");
                options = options.withThreads(threads);
            }
            try {
                model = Optional.of(Engine.embeddingModel(at.gguf(), options));
            } catch (IllegalArgumentException e) {
                throw new UserError("cannot load embedding model " + at.id() + ": " + e.getMessage());
            }
            embedder = Optional.of(new Embedder(at.id(), model.get()));
        }
        boolean bar = switch (progress) {
            case BAR -> true;
            case LOG -> false;
            case AUTO -> {
                Console console = System.console();
                yield console != null && console.isTerminal();
            }
        };
        var checkouts = new Checkouts(indexDir.resolveSibling(indexDir.getFileName() + "-repositories"));
        int failed = 0;
        try (var indexer = new Indexer(indexDir, embedder, new Chunker(chunkSize), rebuild)) {
            for (Repository repo : repositories) {
                try {
                    Path workTree = checkouts.workTree(repo);
                    Indexer.Report r =
                            indexer.index(repo.source(), workTree, bar ? new BarProgress() : new LogProgress());
                    out.println(summary(repo, r));
                    out.flush();
                } catch (IOException e) {
                    failed++;
                    spec.commandLine()
                            .getErr()
                            .println("catnap index: repository " + repo.name() + " (" + repo.gitUrl() + "): "
                                    + e.getMessage());
                    spec.commandLine().getErr().flush();
                }
            }
            if (prune) prune(indexer, indexDir, repositories, out);
        } catch (IndexException e) {
            throw new UserError(e.getMessage(), 1);
        } finally {
            model.ifPresent(EmbeddingModel::close);
        }
        out.println(
                String.format(Locale.ROOT, "index %s: %.1f MiB on disk", indexDir, sizeOnDisk(indexDir) / 1048576.0));
        out.flush();
        return failed == 0 ? 0 : 2;
    }

    private static void prune(Indexer indexer, Path indexDir, List<Repository> keep, PrintWriter out)
            throws IOException {
        List<String> sources;
        try (CodeIndex index = CodeIndex.open(indexDir, Optional.empty(), SearchMode.BM25)
                .orElseThrow(() -> new IOException("cannot reopen " + indexDir))) {
            sources = index.sources();
        }
        var wanted = keep.stream().map(Repository::source).toList();
        for (String s : sources) {
            if (!wanted.contains(s)) {
                indexer.remove(s);
                out.println("pruned " + s);
            }
        }
    }

    static String summary(Repository repo, Indexer.Report r) {
        double seconds = Math.max(r.millis(), 1) / 1000.0;
        return String.format(
                Locale.ROOT,
                "%s: %d files (%d read, %d unchanged, %d removed, %d skipped), %d chunks, %.2f MiB read in %.1f s (%.0f files/s, %.2f MiB/s)",
                repo.name(),
                r.files(),
                r.read(),
                r.unchanged(),
                r.removed(),
                r.skipped(),
                r.chunks(),
                r.bytesRead() / 1048576.0,
                seconds,
                r.read() / seconds,
                r.bytesRead() / 1048576.0 / seconds);
    }

    static long sizeOnDisk(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return 0;
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile)
                    .mapToLong(f -> f.toFile().length())
                    .sum();
        }
    }

    /** A terminal bar of files, as the download command draws one of bytes. */
    private static final class BarProgress implements Indexer.Progress {
        private ProgressBar bar;

        public void start(String repository, int files, long bytes) {
            bar = new ProgressBarBuilder()
                    .setTaskName(repository)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setInitialMax(files)
                    .setUnit(" files", 1)
                    .showSpeed()
                    .continuousUpdate()
                    .build();
        }

        public void advance(long bytes) {
            bar.step();
        }

        public void finish() {
            if (bar != null) bar.close();
        }
    }

    /** One log line every 5 seconds (an image build's log, CI). */
    private static final class LogProgress implements Indexer.Progress {
        private String name;
        private int total;
        private int done;
        private long last = System.nanoTime();

        public void start(String repository, int files, long bytes) {
            name = repository;
            total = files;
            log.info("{}: indexing {} changed files ({} KiB)", repository, files, bytes / 1024);
        }

        public void advance(long bytes) {
            done++;
            long now = System.nanoTime();
            if (now - last > 5_000_000_000L) {
                last = now;
                log.info("{}: {}/{} files", name, done, total);
            }
        }

        public void finish() {}
    }
}
