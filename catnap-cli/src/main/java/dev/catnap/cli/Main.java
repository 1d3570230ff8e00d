package dev.catnap.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code catnap} command. Each subcommand lives in its own class in this package. */
@Command(
        name = "catnap",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = "Self-hosted, scale-to-zero coding assistant server (Tabby-compatible).",
        subcommands = {
            CommandLine.HelpCommand.class,
            GatewayCommand.class,
            ServeCommand.class,
            DownloadCommand.class,
            ModelsCommand.class,
            GenerateCommand.class,
            EmbedCommand.class,
            BenchCommand.class,
            ColdStartCommand.class,
            AotTrainCommand.class,
            SyntheticModelCommand.class,
            TokenizeCommand.class,
            InspectCommand.class,
        })
public final class Main implements Runnable {
    /** When main was entered: the end of JVM start and the origin of the startup times a worker logs. */
    static final long STARTED_AT_MILLIS = System.currentTimeMillis();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** Every failure a user can cause ends as one readable line and a non-zero exit, not a stack trace. */
    static CommandLine commandLine() {
        var cl = new CommandLine(new Main());
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
