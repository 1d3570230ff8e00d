package dev.catnap.cli;

import dev.catnap.engine.EmbeddingModel;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.LanguageModel;
import dev.catnap.engine.cuda.CudaDevice;
import dev.catnap.engine.cuda.CudaException;
import dev.catnap.index.CodeIndex;
import dev.catnap.index.CodeSearch;
import dev.catnap.index.Embedder;
import dev.catnap.index.Repository;
import dev.catnap.index.SearchMode;
import dev.catnap.registry.ModelKind;
import dev.catnap.registry.ModelsDir;
import dev.catnap.server.ChatModel;
import dev.catnap.server.ChatTemplate;
import dev.catnap.server.CompletionModel;
import dev.catnap.server.EngineTextModel;
import dev.catnap.server.RepositoryContext;
import dev.catnap.server.ServerOptions;
import dev.catnap.server.TabbyServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap serve}: Tabby's HTTP API over local models; the port opens once every model is loaded. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serve Tabby's HTTP API (completions, chat, events, health) with local GGUF models.",
            "A model is a Tabby model id in the model cache (TabbyML/StarCoder-1B, or a bare name for TabbyML),",
            "a model directory in Tabby's layout (tabby.json + ggml/), or a single .gguf file.",
            "Without --model, --chat-model and --embedding-model it serves the deployment's models: TabbyML/StarCoder-1B,",
            "TabbyML/Qwen2-1.5B-Instruct and TabbyML/Nomic-Embed-Text. A model id missing from the cache is downloaded",
            "at start, before the port opens (never while a request waits); --offline makes that an error instead.",
        })
final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--model", paramLabel = "ID|DIR|FILE", description = "Completion model (FIM).")
    String model;

    @Option(
            names = "--chat-model",
            paramLabel = "ID|DIR|FILE",
            description = "Chat model (OpenAI-compatible /v1/chat/completions).")
    String chatModel;

    @Option(
            names = "--embedding-model",
            paramLabel = "ID|DIR|FILE",
            description = "Embedding model (loaded and reported in /v1/health).")
    String embeddingModel;

    @Option(
            names = "--offline",
            description = "Never download: a model missing from the cache is an error that names `catnap download`.")
    boolean offline;

    @Option(
            names = "--registry",
            paramLabel = "URL|FILE",
            description = "Tabby models.json for downloads (default: Tabby's registry of the id's organisation).")
    String registry;

    @Option(
            names = "--warm-up",
            defaultValue = "0",
            paramLabel = "TOKENS",
            description =
                    "Before the port opens, generate this many tokens on the completion model so that the JIT has compiled the engine's hot paths (default ${DEFAULT-VALUE}: off).")
    int warmUpTokens;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address to listen on (default ${DEFAULT-VALUE}).")
    String host;

    // Knative, Cloud Run and other container platforms give the port in $PORT.
    @Option(
            names = "--port",
            defaultValue = "${env:PORT:-8080}",
            description = "Port to listen on (default $PORT, else 8080; 0 picks a free one).")
    int port;

    @CommandLine.Mixin
    DeviceOption device;

    @Option(
            names = "--parallelism",
            defaultValue = "10",
            paramLabel = "N",
            description = "Generations per model that run together in the engine's batch (default ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(
            names = "--queue",
            paramLabel = "N",
            description = "Requests per model that may wait for a slot (default 4 x parallelism); more get 503.")
    Integer queue;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads per model (default: physical cores).")
    Integer threads;

    @Option(
            names = "--models-dir",
            paramLabel = "DIR",
            description =
                    "Model cache (default $TABBY_MODEL_CACHE_ROOT, else $TABBY_ROOT/models, else ~/.tabby/models).")
    Path modelsDir;

    @Option(
            names = "--token",
            paramLabel = "TOKEN",
            description = "Require 'Authorization: Bearer TOKEN' on every /v1 path.")
    String token;

    @Option(
            names = "--token-file",
            paramLabel = "FILE",
            description = "Like --token, read from a file (surrounding whitespace ignored).")
    Path tokenFile;

    @Option(
            names = "--max-body-size",
            defaultValue = "1m",
            paramLabel = "SIZE",
            converter = SizeConverter.class,
            description =
                    "Largest request body; a larger one is answered 413 with a JSON message (default ${DEFAULT-VALUE}; e.g. 512k, 4m).")
    long maxBodySize;

    @Option(
            names = "--events-dir",
            paramLabel = "DIR",
            description = "Where /v1/events writes YYYY-MM-DD.json (default $TABBY_ROOT/events, else ~/.tabby/events).")
    Path eventsDir;

    @Option(
            names = "--completion-timeout",
            defaultValue = "30s",
            paramLabel = "DURATION",
            converter = DurationConverter.class,
            description =
                    "A completion not done by then is answered 408 (default ${DEFAULT-VALUE}; e.g. 500ms, 30s, 2m).")
    Duration completionTimeout;

    @Option(
            names = "--prompt-template",
            paramLabel = "TEMPLATE",
            description =
                    "FIM template with {prefix} and {suffix}, e.g. '<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>' (default: tabby.json, else the GGUF's FIM tokens).")
    String promptTemplate;

    @CommandLine.Mixin
    RepositoryOptions repos;

    // BM25 by default: it had the best recall@5 in scripts/retrieval-bench (README), and it costs no embedding of the
    // prefix on every completion; hybrid is Tabby's ranking, for a trained embedding model measured to help.
    @Option(
            names = "--retrieval",
            paramLabel = "bm25|vector|hybrid",
            defaultValue = "BM25",
            description =
                    "Ranking of repository context: bm25, hybrid (reciprocal rank fusion of BM25 and vectors, as Tabby), or vector;"
                            + " without an embedding model (or an index built without one) it is bm25 (default ${DEFAULT-VALUE}).")
    SearchMode retrieval;

    @Option(
            names = "--chat-template",
            paramLabel = "JINJA",
            description = "Chat template (default: tabby.json, else the GGUF's tokenizer.chat_template).")
    String chatTemplate;

    /** A started server and the models it holds; closing stops both. */
    record Running(TabbyServer server, List<AutoCloseable> models, StartupTimes times) implements AutoCloseable {
        @Override
        public void close() {
            server.close();
            closeAll(models);
        }
    }

    @Override
    public Integer call() throws Exception {
        Running running = start();
        log.info(
                "listening on http://{}:{}; {}",
                host,
                running.server().port(),
                running.times().describe());
        Runtime.getRuntime().addShutdownHook(new Thread(running::close, "serve-shutdown")); // any other JVM exit
        Signals.awaitTermination();
        running.close(); // stops accepting, lets requests in flight finish, then frees the models
        log.info("stopped");
        return 0;
    }

    /** Resolves and loads every model, then opens the port (so a TCP connect means ready). */
    Running start() throws IOException, InterruptedException {
        Map<String, String> env = System.getenv();
        ServerOptions options = options(env);
        applyDefaultModels();
        if (model == null && chatModel == null) throw new UserError("give --model (completion) and/or --chat-model");
        Path cache = cacheDir(env);
        provisionModels(env);
        EngineOptions cpu = EngineOptions.defaults().withMaxSequences(parallelism);
        if (threads != null) {
            if (threads < 1) throw new UserError("--threads must be at least 1");
            cpu = cpu.withThreads(threads);
        }
        EngineOptions engine = cpu.withDevice(device.device); // embedding models have no CUDA path: they keep cpu

        // Resolve everything before loading anything, so a typo fails in milliseconds.
        Optional<ModelLocation> completionAt = locate(model, cache);
        Optional<ModelLocation> chatAt = locate(chatModel, cache);
        Optional<ModelLocation> embeddingAt = locate(embeddingModel, cache);

        long start = System.nanoTime();
        long initMs = StartupTimes.sinceMain();
        List<AutoCloseable> loaded = new ArrayList<>();
        try {
            Optional<CompletionModel> completion = Optional.empty();
            LanguageModel completionLm = null;
            if (completionAt.isPresent()) {
                completionLm = load(completionAt.get(), engine, loaded);
                completion = Optional.of(completionModel(completionAt.get(), completionLm));
            }
            Optional<ChatModel> chat = Optional.empty();
            if (chatAt.isPresent()) chat = Optional.of(chatModel(chatAt.get(), load(chatAt.get(), engine, loaded)));
            Optional<Embedder> embedder = Optional.empty();
            if (embeddingAt.isPresent()) {
                try {
                    EmbeddingModel em = Engine.embeddingModel(embeddingAt.get().gguf(), cpu);
                    loaded.add(em);
                    embedder = Optional.of(new Embedder(embeddingAt.get().id(), em));
                } catch (IllegalArgumentException e) {
                    throw new UserError(
                            "cannot load embedding model " + embeddingAt.get().id() + ": " + e.getMessage());
                }
            }
            Optional<RepositoryContext> context = repositoryContext(env, embedder, loaded);
            long loadMs = (System.nanoTime() - start) / 1_000_000;
            long warmUpMs = completionLm != null && warmUpTokens > 0 ? warmUp(completionLm, warmUpTokens) : 0;
            long httpStart = System.nanoTime();
            try {
                TabbyServer server =
                        TabbyServer.start(options, completion, chat, embeddingAt.map(ModelLocation::id), context);
                long httpMs = (System.nanoTime() - httpStart) / 1_000_000;
                return new Running(server, loaded, StartupTimes.now(initMs, loadMs, httpMs, warmUpMs));
            } catch (RuntimeException e) {
                throw UserError.cannotListen(host, port, e);
            }
        } catch (RuntimeException | IOException | Error e) {
            closeAll(loaded);
            throw e;
        }
    }

    /**
     * The repositories and their index, when any is configured or an index exists. The index opens on a virtual
     * thread while the models load, so it adds nothing to the time before the port opens; completions that come
     * before it is open get no repository context. A failure to open it is one log line, never a failed start.
     */
    private Optional<RepositoryContext> repositoryContext(
            Map<String, String> env, Optional<Embedder> embedder, List<AutoCloseable> loaded) {
        List<Repository> configured = repos.resolve(env);
        Path dir = repos.indexDir(env);
        if (configured.isEmpty() && repos.indexDir == null && !Files.isDirectory(dir)) return Optional.empty();
        for (Repository r : configured) {
            if (r.localPath().isPresent() && !Files.isDirectory(r.localPath().get())) {
                log.warn(
                        "repository {}: no such directory {} (serving what the index holds for it)",
                        r.name(),
                        r.localPath().get());
            }
        }
        CompletableFuture<Optional<CodeSearch>> index = new CompletableFuture<>();
        SearchMode wanted = retrieval;
        Thread.ofVirtual().name("code-index-open").start(() -> {
            long t0 = System.nanoTime();
            Optional<CodeIndex> opened = CodeIndex.open(dir, embedder, wanted);
            // one search here, so that the first completion does not pay for Lucene's cold code (about a second)
            opened.ifPresent(i -> i.search(
                    new CodeSearch.Request("warm up", Optional.empty(), Optional.empty(), Optional.empty(), 1, false)));
            opened.ifPresent(i -> log.info(
                    "code index {} open in {} ms: {} repositories, {} ranking",
                    dir,
                    (System.nanoTime() - t0) / 1_000_000,
                    i.sources().size(),
                    i.mode().name().toLowerCase(java.util.Locale.ROOT)));
            index.complete(opened.map(i -> i));
        });
        loaded.add(() -> index.thenAccept(i -> i.ifPresent(s -> ((CodeIndex) s).close())));
        return Optional.of(new RepositoryContext(configured, index));
    }

    /** No model flag at all: the deployment's three models, as the container image and Modal app serve them. */
    void applyDefaultModels() {
        if (model != null || chatModel != null || embeddingModel != null) return;
        model = ModelProvisioning.DEFAULT_COMPLETION;
        chatModel = ModelProvisioning.DEFAULT_CHAT;
        embeddingModel = ModelProvisioning.DEFAULT_EMBEDDING;
        log.info(
                "no model given: serving {} (completion), {} (chat) and {} (embeddings)",
                model,
                chatModel,
                embeddingModel);
    }

    Path cacheDir(Map<String, String> env) {
        return modelsDir != null ? modelsDir : ModelsDir.resolve(env);
    }

    /** Downloads the model ids the cache lacks (or fails in one line when --offline). */
    void provisionModels(Map<String, String> env) throws InterruptedException {
        var provisioning = new ModelProvisioning(cacheDir(env), offline, Optional.ofNullable(registry), env);
        provisioning.ensure(model, ModelKind.COMPLETION, "--model");
        provisioning.ensure(chatModel, ModelKind.CHAT, "--chat-model");
        provisioning.ensure(embeddingModel, ModelKind.EMBEDDING, "--embedding-model");
    }

    /** One greedy generation of up to {@code tokens} tokens on a short FIM prompt, as a first request runs it; its milliseconds. */
    private static long warmUp(LanguageModel lm, int tokens) throws InterruptedException {
        long start = System.nanoTime();
        int[] prompt = lm.tokenizer().specialTokens().fimPrefix() >= 0
                        && lm.tokenizer().specialTokens().fimSuffix() >= 0
                        && lm.tokenizer().specialTokens().fimMiddle() >= 0
                ? GenerateCommand.promptTokens(lm.tokenizer(), "def fib(n):\n    ", "\n")
                : GenerateCommand.promptTokens(lm.tokenizer(), "def fib(n):\n    ", null);
        var done = new java.util.concurrent.CompletableFuture<Void>();
        lm.submit(
                new dev.catnap.engine.GenerationRequest(
                        prompt,
                        Math.min(tokens, lm.maxPositions() - prompt.length),
                        dev.catnap.engine.SamplingParams.greedy()),
                new dev.catnap.engine.TokenSink() {
                    @Override
                    public boolean accept(int token) {
                        return true; // up to the length, or the model's end-of-text token
                    }

                    @Override
                    public void finished(dev.catnap.engine.FinishReason reason, Throwable errorOrNull) {
                        if (errorOrNull != null) done.completeExceptionally(errorOrNull);
                        else done.complete(null);
                    }
                });
        try {
            done.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(
                    "warm-up generation failed: " + e.getCause().getMessage(), e.getCause());
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** FIM template: --prompt-template, else tabby.json's, else the one the vocabulary's FIM tokens imply. */
    private CompletionModel completionModel(ModelLocation at, LanguageModel lm) {
        Optional<String> template = Optional.ofNullable(promptTemplate)
                .or(at::promptTemplate)
                .or(() -> EngineTextModel.fimTemplate(lm.tokenizer()));
        if (template.isEmpty())
            log.warn("model {} has no FIM template: completions see the prefix only (set --prompt-template)", at.id());
        try {
            return new CompletionModel(at.id(), new EngineTextModel(lm), template);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /** Chat template: --chat-template, else tabby.json's, else the GGUF's tokenizer.chat_template. */
    private ChatModel chatModel(ModelLocation at, LanguageModel lm) {
        String jinja = Optional.ofNullable(chatTemplate)
                .or(at::chatTemplate)
                .or(() -> lm.metadata().has("tokenizer.chat_template")
                        ? Optional.of(lm.metadata().getString("tokenizer.chat_template"))
                        : Optional.empty())
                .orElseThrow(() -> new UserError(
                        "chat model " + at.id() + " has no chat template (tabby.json or GGUF); pass --chat-template"));
        try {
            return new ChatModel(at.id(), new EngineTextModel(lm), ChatTemplate.fromJinja(jinja));
        } catch (IllegalArgumentException e) {
            throw new UserError("chat model " + at.id() + ": " + e.getMessage());
        }
    }

    /** Checks the flags, then (for cuda) asks the driver for the GPUs that /v1/health names. */
    private ServerOptions options(Map<String, String> env) {
        if (parallelism < 1) throw new UserError("--parallelism must be at least 1");
        if (warmUpTokens < 0 || warmUpTokens > 1024) throw new UserError("--warm-up must be in 0..1024 tokens");
        if (port < 0 || port > 65535) throw new UserError("--port must be in 0..65535");
        if (token != null && tokenFile != null) throw new UserError("give --token or --token-file, not both");
        Optional<String> secret = Optional.ofNullable(token).map(String::strip);
        if (tokenFile != null) {
            try {
                secret = Optional.of(Files.readString(tokenFile).strip());
            } catch (IOException e) {
                throw new UserError("cannot read --token-file " + tokenFile + ": " + e.getMessage());
            }
        }
        if (secret.isPresent() && secret.get().isEmpty()) throw new UserError("the token is empty");
        int queueLimit = queue != null ? queue : ServerOptions.defaultQueueLimit(parallelism);
        if (queueLimit < 0) throw new UserError("--queue must not be negative");
        List<String> gpus = device.gpus().stream().map(CudaDevice::name).toList();
        return new ServerOptions(
                host,
                port,
                parallelism,
                queueLimit,
                secret,
                eventsDir != null ? eventsDir : defaultEventsDir(env),
                completionTimeout,
                device.device.label(),
                Version.current(),
                gpus,
                maxBodySize);
    }

    static Path defaultEventsDir(Map<String, String> env) {
        String root = env.get("TABBY_ROOT");
        return root != null && !root.isBlank()
                ? Path.of(root, "events")
                : Path.of(System.getProperty("user.home"), ".tabby", "events");
    }

    private static Optional<ModelLocation> locate(String spec, Path cache) {
        if (spec == null) return Optional.empty();
        try {
            return Optional.of(ModelLocation.resolve(spec, cache));
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /** Loads the model and adds it to {@code loaded}, which start() closes if a later step fails. */
    private static LanguageModel load(ModelLocation at, EngineOptions engine, List<AutoCloseable> loaded)
            throws IOException {
        try {
            LanguageModel lm = Engine.languageModel(at.gguf(), engine);
            loaded.add(lm);
            return lm;
        } catch (IllegalArgumentException e) {
            throw new UserError("cannot load model " + at.id() + " (" + at.gguf() + "): " + e.getMessage());
        } catch (IllegalStateException | UnsupportedOperationException | CudaException e) {
            throw DeviceOption.loadFailure(engine.device(), e);
        }
    }

    private static void closeAll(List<AutoCloseable> resources) {
        for (AutoCloseable r : resources.reversed()) {
            try {
                r.close();
            } catch (Exception e) {
                log.warn("closing {} failed: {}", r, e.toString());
            }
        }
    }
}
