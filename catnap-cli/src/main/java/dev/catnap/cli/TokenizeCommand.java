package dev.catnap.cli;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFFormatException;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code catnap tokenize}: the token ids llama.cpp would give a text, from the vocabulary of a GGUF file. */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Print the token ids of TEXT (space-separated, one line) using the tokenizer of a GGUF file.")
final class TokenizeCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF file (model or vocabulary).")
    Path model;

    @Option(names = "--special", description = "Parse special-token text such as <fim_prefix> as that single token.")
    boolean special;

    @Option(names = "--add-special", description = "Add BOS/EOS (CLS/SEP) as the vocabulary asks.")
    boolean addSpecial;

    @Parameters(index = "0", paramLabel = "TEXT", description = "The text to tokenize.")
    String text;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(model)) throw new UserError("model file not found: " + model);
        Tokenizer tokenizer;
        try (GGUFFile file = GGUFFile.open(model)) {
            tokenizer = Tokenizer.fromGGUF(file.metadata());
        } catch (GGUFFormatException e) {
            throw new UserError(e.getMessage());
        } catch (IOException e) {
            throw new UserError("cannot read " + model + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(model.getFileName() + ": " + e.getMessage());
        }
        int[] ids = tokenizer.encode(text, addSpecial, special);
        var line = new StringBuilder(ids.length * 6);
        for (int id : ids) {
            if (!line.isEmpty()) line.append(' ');
            line.append(id);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(line);
        out.flush();
        return 0;
    }
}
