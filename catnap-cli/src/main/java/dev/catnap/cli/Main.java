package dev.catnap.cli;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code catnap} command. Each subcommand lives in its own class in this package. */
@Command(
        name = "catnap",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Self-hosted, scale-to-zero coding assistant server (Tabby-compatible).")
public final class Main implements Runnable {
    /** When main was entered: the end of JVM start and the origin of the startup times a worker logs. */
    static final long STARTED_AT_MILLIS = System.currentTimeMillis();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Every subcommand, in the order `catnap --help` lists them. */
    private static final List<Supplier<Object>> SUBCOMMANDS = List.of(
            CommandLine.HelpCommand::new,
            GatewayCommand::new,
            ServeCommand::new,
            DownloadCommand::new,
            IndexCommand::new,
            ModelsCommand::new,
            GenerateCommand::new,
            EmbedCommand::new,
            BenchCommand::new,
            ColdStartCommand::new,
            AotTrainCommand::new,
            SyntheticModelCommand::new,
            TokenizeCommand::new,
            InspectCommand::new);

    private static final Map<String, Supplier<Object>> BY_NAME =
            Map.of("gateway", GatewayCommand::new, "serve", ServeCommand::new, "aot-train", AotTrainCommand::new);

    public static void main(String[] args) {
        System.exit(commandLine(args).execute(args));
    }

    static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * Every failure a user can cause ends as one readable line and a non-zero exit, not a stack trace. For the
     * commands a cold start runs (gateway, serve) only that subcommand is built: picocli's classes cannot go into
     * the AOT cache (their bytecode predates it), so modelling a dozen commands a worker never runs is work saved.
     */
    static CommandLine commandLine(String[] args) {
        var cl = new CommandLine(new Main());
        Supplier<Object> only = args.length > 0 ? BY_NAME.get(args[0]) : null;
        if (only != null) {
            cl.addSubcommand(only.get());
        } else {
            for (Supplier<Object> s : SUBCOMMANDS) cl.addSubcommand(s.get());
        }
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            var err = cmd.getErr();
            String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            err.println("catnap " + cmd.getCommandName() + ": " + msg);
            if (Boolean.getBoolean("catnap.debug")) ex.printStackTrace(err);
            return ex instanceof UserError ue ? ue.exitCode() : 1;
        });
        return cl;
    }
}
