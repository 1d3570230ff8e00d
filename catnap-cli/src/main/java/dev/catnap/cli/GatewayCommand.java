package dev.catnap.cli;

import dev.catnap.gateway.Gateway;
import dev.catnap.gateway.GatewayConfig;
import dev.catnap.gateway.Readiness;
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
        footer = {"", "Without arguments after --, workers serve TabbyML/StarCoder-1B, TabbyML/Qwen2-1.5B-Instruct and TabbyML/Nomic-Embed-Text;",
            "models missing from the cache are downloaded before the gateway listens (--offline after -- forbids that).",
            "Example: catnap gateway --port 8080 -- --model TabbyML/StarCoder-1B --chat-model Qwen2-1.5B-Instruct"})
final class GatewayCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--worker-command", paramLabel = "COMMAND",
            description = "Shell command line that starts one worker listening on {port} (default: this jar's `catnap serve --port {port}` plus the arguments after --).")
    String workerCommand;

    @Option(names = "--max-inputs", defaultValue = "10", description = "Concurrent requests per worker (default: ${DEFAULT-VALUE}).")
    int maxInputs;

    @Option(names = "--scaledown-window", defaultValue = "120s", converter = DurationConverter.class,
            description = "Stop a worker after this long without requests (default: ${DEFAULT-VALUE}).")
    Duration scaledownWindow;

    @Option(names = "--min-workers", defaultValue = "0", description = "Workers kept running even when idle (default: ${DEFAULT-VALUE}).")
    int minWorkers;

    @Option(names = "--max-workers", defaultValue = "1", description = "Most workers running at once (default: ${DEFAULT-VALUE}).")
    int maxWorkers;

    @Option(names = "--startup-timeout", defaultValue = "600s", converter = DurationConverter.class,
            description = "Longest a worker may take to become ready (default: ${DEFAULT-VALUE}).")
    Duration startupTimeout;

    @Option(names = "--max-queue", defaultValue = "100", description = "Requests that may wait for a slot (default: ${DEFAULT-VALUE}).")
    int maxQueue;

    @Option(names = "--queue-timeout", converter = DurationConverter.class,
            description = "Longest a request waits for a slot (default: the startup timeout).")
    Duration queueTimeout;

    @Option(names = "--readiness", defaultValue = "tcp", description = "tcp (connect to the port) or http:PATH (2xx on PATH) (default: ${DEFAULT-VALUE}).")
    String readiness;

    @Option(names = "--drain-timeout", defaultValue = "30s", converter = DurationConverter.class,
            description = "On stop, how long requests may finish and workers may exit before being killed (default: ${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(names = "--failure-cooldown", defaultValue = "30s", converter = DurationConverter.class,
            description = "After 3 failed starts in a row, answer 503 at once for this long (default: ${DEFAULT-VALUE}).")
    Duration failureCooldown;

    @Option(names = "--state-dir", description = "Where the last health answer is kept (default: ~/.catnap/gateway).")
    Path stateDir;

    @Parameters(paramLabel = "SERVE_ARGS", arity = "0..*", description = "Arguments for `catnap serve` (after --).")
    List<String> serveArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        List<String> command;
        if (workerCommand != null) {
            if (!serveArgs.isEmpty()) throw new UserError("give either --worker-command or arguments after --, not both");
            command = List.of("/bin/sh", "-c", "exec " + workerCommand);
        } else {
            command = new ArrayList<>(selfCommand());
            command.addAll(List.of("serve", "--port", "{port}"));
            command.addAll(serveArgs);
            // the models are in the cache before the gateway listens: a worker never downloads while a request waits
            if (!serveArgs.contains("--offline")) command.add("--offline");
        }
        Path state = stateDir != null ? stateDir : Path.of(System.getProperty("user.home"), ".catnap", "gateway");
        GatewayConfig config;
        try {
            config = new GatewayConfig(host, port, command, maxInputs, scaledownWindow, minWorkers, maxWorkers,
                    startupTimeout, maxQueue, queueTimeout != null ? queueTimeout : startupTimeout,
                    Readiness.parse(readiness), drainTimeout, 3, failureCooldown, state);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if (workerCommand == null) provisionWorkerModels(); // after the settings are checked: a typo costs no download
        Gateway gateway;
        try {
            gateway = Gateway.start(config);
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
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-agentlib") || arg.startsWith("-javaagent") || arg.startsWith("-Xdebug")) continue;
            cmd.add(arg);
        }
        Path location;
        try {
            location = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
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
