package dev.catnap.cli;

import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.cuda.CudaException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model FILE} and {@code --threads N}, shared by the commands that run the engine on one GGUF file. */
final class EngineModelOptions {
    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "Compute threads (default: physical cores).")
    Integer threads;

    /** A loader of one model kind from a file (Engine::languageModel, Engine::embeddingModel). */
    @FunctionalInterface
    interface Loader<M> {
        M load(Path file, EngineOptions options) throws IOException;
    }

    /** The engine defaults for {@code maxSequences} sequences, with --threads applied; checks the file exists. */
    EngineOptions engineOptions(int maxSequences) {
        if (!Files.isRegularFile(model)) throw new UserError("model file not found: " + model);
        var options = EngineOptions.defaults().withMaxSequences(maxSequences);
        if (threads == null) return options;
        if (threads < 1) throw new UserError("--threads must be at least 1");
        return options.withThreads(threads);
    }

    /** Loads the model; an unreadable or unsupported file is one readable line. */
    <M> M load(Loader<M> loader, EngineOptions options) {
        try {
            return loader.load(model, options);
        } catch (IOException e) {
            throw new UserError("cannot read model " + model + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(model.getFileName() + ": " + e.getMessage());
        } catch (IllegalStateException | UnsupportedOperationException | CudaException e) {
            throw DeviceOption.loadFailure(options.device(), e);
        }
    }
}
