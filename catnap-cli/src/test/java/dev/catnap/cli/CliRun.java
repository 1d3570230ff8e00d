package dev.catnap.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** One in-process run of the {@code catnap} command line, with what it printed. */
record CliRun(int exit, String out, String err) {
    static final Path FIXTURES = Path.of(System.getProperty("catnap.fixtures", "../../shared/fixtures"));

    static CliRun of(String... args) {
        var cl = Main.commandLine();
        var out = new StringWriter();
        var err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }
}
