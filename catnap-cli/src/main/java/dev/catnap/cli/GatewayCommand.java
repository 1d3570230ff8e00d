package dev.catnap.cli;

import dev.catnap.gateway.FrontDoor;
import dev.catnap.gateway.Gateway;
import dev.catnap.gateway.GatewayConfig;
import dev.catnap.gateway.Readiness;
import dev.catnap.gateway.Tokens;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "gateway",
        mixinStandardHelpOptions = true,
        description = {
            "Serverless front: starts workers on the first request, proxies to them, and stops them when idle.",
            "The worker is `catnap serve --port {port}` with the arguments after `--`, or any --worker-command.",
        },
        footer = {
            "",
            "Without arguments after --, workers serve TabbyML/StarCoder-1B, TabbyML/Qwen2-1.5B-Instruct and TabbyML/Nomic-Embed-Text;",
            "models missing from the cache are downloaded before the gateway listens (--offline after -- forbids that).",
            "Example: catnap gateway --port 8080 -- --model TabbyML/StarCoder-1B --chat-model Qwen2-1.5B-Instruct"
        })
final class GatewayCommand implements Callable<Integer> {
    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(
            names = "--worker-command",
            paramLabel = "COMMAND",
            description =
                    "Shell command line that starts one worker listening on {port} (default: this jar's `catnap serve --port {port}` plus the arguments after --).")
    String workerCommand;

    @Option(
            names = "--max-inputs",
            defaultValue = "10",
            description = "Concurrent requests per worker (default: ${DEFAULT-VALUE}).")
    int maxInputs;

    @Option(
            names = "--scaledown-window",
            defaultValue = "120s",
            converter = DurationConverter.class,
            description = "Stop a worker after this long without requests (default: ${DEFAULT-VALUE}).")
    Duration scaledownWindow;

    @Option(
            names = "--min-workers",
            defaultValue = "0",
            description = "Workers kept running even when idle (default: ${DEFAULT-VALUE}).")
    int minWorkers;

    @Option(
            names = "--max-workers",
            defaultValue = "1",
            description = "Most workers running at once (default: ${DEFAULT-VALUE}).")
    int maxWorkers;

    @Option(
            names = "--startup-timeout",
            defaultValue = "600s",
            converter = DurationConverter.class,
            description = "Longest a worker may take to become ready (default: ${DEFAULT-VALUE}).")
    Duration startupTimeout;

    @Option(
            names = "--max-queue",
            defaultValue = "100",
            description = "Requests that may wait for a slot (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(
            names = "--queue-timeout",
            converter = DurationConverter.class,
            description = "Longest a request waits for a slot (default: the startup timeout).")
    Duration queueTimeout;

    @Option(
            names = "--readiness",
            defaultValue = "tcp",
            description = "tcp (connect to the port) or http:PATH (2xx on PATH) (default: ${DEFAULT-VALUE}).")
    String readiness;

    @Option(
            names = "--drain-timeout",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description =
                    "On stop, how long requests may finish and workers may exit before being killed (default: ${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(
            names = "--failure-cooldown",
            defaultValue = "30s",
            converter = DurationConverter.class,
            description =
                    "After 3 failed starts in a row, answer 503 at once for this long (default: ${DEFAULT-VALUE}).")
    Duration failureCooldown;

    @Option(names = "--state-dir", description = "Where the last health answer is kept (default: ~/.catnap/gateway).")
    Path stateDir;

    // The gateway knows nothing of models or code: this is only handed to each worker's `catnap serve`.
    @Option(
            names = "--repository",
            paramLabel = "PATH_OR_GIT_URL",
            description =
                    "Passed to each worker as `serve --repository` (repeatable); index it first with `catnap index`.")
    List<String> repositories = new ArrayList<>();

    @Option(
            names = "--token",
            paramLabel = "TOKEN",
            description =
                    "Require 'Authorization: Bearer TOKEN' on every path, checked before any worker is started (default: the worker's own `serve --token`/`--token-file`).")
    String token;

    @Option(
            names = "--token-file",
            paramLabel = "FILE",
            description =
                    "Like --token, with one token per line (# comments allowed); the file is read again when it changes.")
    Path tokenFile;

    @Option(
            names = "--max-body-size",
            paramLabel = "SIZE",
            converter = SizeConverter.class,
            description =
                    "Largest request body; a larger one is answered 413 without touching a worker (default: the worker's `serve --max-body-size`, else 1m).")
    Long maxBodySize;

    @Option(
            names = "--idle-timeout",
            defaultValue = "60s",
            converter = DurationConverter.class,
            description = "Close a client connection on which nothing moves for this long (default: ${DEFAULT-VALUE}).")
    Duration idleTimeout;

    @Option(
            names = "--head-timeout",
            defaultValue = "20s",
            converter = DurationConverter.class,
            description =
                    "Cut off a client whose request headers (or small body) take longer than this to arrive (default: ${DEFAULT-VALUE}).")
    Duration headTimeout;

    @Option(
            names = "--max-header-size",
            defaultValue = "16k",
            paramLabel = "SIZE",
            converter = SizeConverter.class,
            description = "Largest request line plus headers; more is answered 431 (default: ${DEFAULT-VALUE}).")
    long maxHeaderSize;

    @Parameters(paramLabel = "SERVE_ARGS", arity = "0..*", description = "Arguments for `catnap serve` (after --).")
    List<String> serveArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        List<String> command;
        FrontDoor door = frontDoor();
        if (workerCommand != null) {
            if (!serveArgs.isEmpty())
                throw new UserError("give either --worker-command or arguments after --, not both");
            if (!repositories.isEmpty())
                throw new UserError(
                        "--repository goes to `catnap serve` workers; with --worker-command put it in the command");
            command = List.of("/bin/sh", "-c", "exec " + workerCommand);
        } else {
            command = new ArrayList<>(selfCommand());
            command.addAll(List.of("serve", "--port", "{port}"));
            command.addAll(serveArgs);
            for (String r : repositories) command.addAll(List.of("--repository", r));
            // the worker refuses what the gateway lets through only if both have the same limit
            if (serveOption("--max-body-size") == null)
                command.addAll(List.of("--max-body-size", Long.toString(door.maxBodyBytes())));
            // the models are in the cache before the gateway listens: a worker never downloads while a request waits
            if (!serveArgs.contains("--offline")) command.add("--offline");
        }
        Path state = stateDir != null ? stateDir : Path.of(System.getProperty("user.home"), ".catnap", "gateway");
        GatewayConfig config;
        try {
            config = new GatewayConfig(
                    host,
                    port,
                    command,
                    maxInputs,
                    scaledownWindow,
                    minWorkers,
                    maxWorkers,
                    startupTimeout,
                    maxQueue,
                    queueTimeout != null ? queueTimeout : startupTimeout,
                    Readiness.parse(readiness),
                    drainTimeout,
                    3,
                    failureCooldown,
                    state);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if (workerCommand == null) provisionWorkerModels(); // after the settings are checked: a typo costs no download
        Gateway gateway;
        try {
            gateway = Gateway.start(config, door);
        } catch (RuntimeException e) {
            throw UserError.cannotListen(host, port, e);
        }
        // any other JVM exit still stops the workers
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "gateway-shutdown"));
        Signals.awaitTermination();
        gateway.close();
        return 0;
    }

    /**
     * Tokens and limits: the gateway's own flags, else those given to the `catnap serve` worker after {@code --}, so
     * that a token meant for the worker also keeps unauthenticated requests from starting it.
     */
    FrontDoor frontDoor() {
        if (token != null && tokenFile != null) throw new UserError("give --token or --token-file, not both");
        String workerToken = workerCommand == null ? serveOption("--token") : null;
        String workerTokenFile = workerCommand == null ? serveOption("--token-file") : null;
        Tokens tokens;
        try {
            if (token != null) tokens = Tokens.of(List.of(token));
            else if (tokenFile != null) tokens = Tokens.file(tokenFile);
            else if (workerToken != null) tokens = Tokens.of(List.of(workerToken));
            else if (workerTokenFile != null) tokens = Tokens.file(Path.of(workerTokenFile));
            else tokens = Tokens.none();
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        long body = maxBodySize != null
                ? maxBodySize
                : serveOption("--max-body-size") != null
                        ? SizeConverter.parse(serveOption("--max-body-size"))
                        : FrontDoor.DEFAULT_MAX_BODY_BYTES;
        try {
            return new FrontDoor(tokens, body, (int) maxHeaderSize, idleTimeout, headTimeout);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    /** The value of a `catnap serve` option given after {@code --} ({@code --name VALUE} or {@code --name=VALUE}). */
    private String serveOption(String name) {
        for (int i = 0; i < serveArgs.size(); i++) {
            String a = serveArgs.get(i);
            if (a.equals(name) && i + 1 < serveArgs.size()) return serveArgs.get(i + 1);
            if (a.startsWith(name + "=")) return a.substring(name.length() + 1);
        }
        return null;
    }

    /**
     * The worker's models, read from the serve arguments (the deployment's defaults when none is named), are
     * downloaded now, with progress, before the gateway listens and so before the first worker starts.
     */
    private void provisionWorkerModels() throws InterruptedException {
        var serve = new ServeCommand();
        try {
            new picocli.CommandLine(serve).parseArgs(serveArgs.toArray(String[]::new));
        } catch (picocli.CommandLine.ParameterException e) {
            throw new UserError("invalid `catnap serve` arguments after --: " + e.getMessage());
        }
        serve.applyDefaultModels();
        serve.provisionModels(System.getenv());
    }

    /** The java binary, JVM flags and jar (or class path) of this very process: the default worker is ourselves. */
    static List<String> selfCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-agentlib") || arg.startsWith("-javaagent") || arg.startsWith("-Xdebug")) continue;
            cmd.add(arg);
        }
        Path location;
        try {
            location = Path.of(Main.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        if (Files.isRegularFile(location)) {
            cmd.add("-jar");
            cmd.add(location.toString());
        } else {
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(Main.class.getName());
        }
        return cmd;
    }
}
