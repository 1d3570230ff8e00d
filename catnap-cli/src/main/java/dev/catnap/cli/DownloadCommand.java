package dev.catnap.cli;

import dev.catnap.registry.DownloadException;
import dev.catnap.registry.DownloadRequest;
import dev.catnap.registry.DownloadResult;
import dev.catnap.registry.DownloadSettings;
import dev.catnap.registry.Downloader;
import dev.catnap.registry.ModelId;
import dev.catnap.registry.ModelKind;
import dev.catnap.registry.ModelsDir;
import java.io.Console;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code catnap download}: fills the model cache ahead of time (e.g. while building an image), offline-first. */
@Command(
        name = "download",
        mixinStandardHelpOptions = true,
        description = {
            "Download a model from Tabby's registry into the model cache (Tabby's layout: DIR/Org/Name/tabby.json, ggml/model-0000i-of-0000N.gguf).",
            "A model already present and verified is not fetched again and the network is not used. Partial files resume on the next run.",
            "Environment: TABBY_MODEL_CACHE_ROOT, TABBY_ROOT, TABBY_DOWNLOAD_HOST, TABBY_HUGGINGFACE_HOST_OVERRIDE.",
        },
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {
            "0:the model is present and verified (downloaded now or earlier)",
            "2:bad input: invalid id, model not in the registry, wrong --kind, bad registry file",
            "3:the registry cannot be fetched and no cached copy exists",
            "4:no mirror delivered the files (HTTP errors, connection failures)",
            "5:checksum mismatch (expected and actual SHA-256 are printed; the partial file is removed)",
            "6:the models dir cannot be written (permissions, disk full)",
            "7:another download of the model holds the lock for too long",
        })
final class DownloadCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "ID", description = "Org/Name, or Name for TabbyML/Name.")
    String model;

    @Option(
            names = "--models-dir",
            paramLabel = "DIR",
            description =
                    "Model cache (default: $TABBY_MODEL_CACHE_ROOT, else $TABBY_ROOT/models, else ~/.tabby/models).")
    Path modelsDir;

    @Option(
            names = "--registry",
            paramLabel = "URL|FILE",
            description =
                    "Tabby models.json to use (default: https://raw.githubusercontent.com/<Org>/registry-tabby/main/models.json, cached in DIR/<Org>/models.json).")
    String registry;

    @Option(
            names = "--kind",
            paramLabel = "completion|chat|embedding",
            description =
                    "Role the model must serve: completion needs a prompt_template, chat a chat_template, embedding neither. Unchecked when absent.")
    ModelKind kind;

    @Option(names = "--force", description = "Download and verify again even if the model is present and verified.")
    boolean force;

    @Option(
            names = "--retries",
            paramLabel = "N",
            defaultValue = "3",
            description = "Attempts per mirror URL before the next one (default: ${DEFAULT-VALUE}).")
    int retries;

    @Option(
            names = "--progress",
            paramLabel = "auto|bar|log",
            defaultValue = "auto",
            description =
                    "Progress display: a bar on a terminal, periodic log lines otherwise (default: ${DEFAULT-VALUE}).")
    ProgressMode progress;

    enum ProgressMode {
        AUTO,
        BAR,
        LOG
    }

    @Override
    public Integer call() throws InterruptedException {
        ModelId id;
        try {
            id = ModelId.parse(model);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if (retries < 1) throw new UserError("--retries must be at least 1");
        Path dir = modelsDir != null ? modelsDir : ModelsDir.resolve(System.getenv());
        boolean bar = switch (progress) {
            case BAR -> true;
            case LOG -> false;
            case AUTO -> {
                Console console = System.console();
                yield console != null && console.isTerminal();
            }
        };
        DownloadSettings settings = DownloadSettings.defaults(System.getenv(), bar)
                .withRetries(retries, Duration.ofSeconds(1), Duration.ofSeconds(30));
        DownloadResult result;
        try (Downloader downloader = new Downloader(dir, settings)) {
            result = downloader.download(
                    new DownloadRequest(id, Optional.ofNullable(registry), force, Optional.ofNullable(kind)));
        } catch (DownloadException e) {
            throw new UserError(e.getMessage(), exitCode(e.kind()));
        }
        String what = switch (result.outcome()) {
            case ALREADY_VERIFIED -> "already present and verified";
            case VERIFIED_LOCAL_FILES -> "present; verified its SHA-256 locally";
            case PRESENT_UNVERIFIABLE -> "present (its tabby.json has no SHA-256 to verify)";
            case DOWNLOADED ->
                String.format(
                        Locale.ROOT, "downloaded and verified (%.1f MiB fetched)", result.bytesFetched() / 1048576.0);
        };
        spec.commandLine()
                .getOut()
                .println(id + ": " + what + ": " + result.model().entryFile());
        spec.commandLine().getOut().flush();
        return 0;
    }

    static int exitCode(DownloadException.Kind kind) {
        return switch (kind) {
            case BAD_INPUT -> 2;
            case REGISTRY_UNAVAILABLE -> 3;
            case NETWORK -> 4;
            case CHECKSUM -> 5;
            case LOCAL_IO -> 6;
            case LOCKED -> 7;
        };
    }
}
