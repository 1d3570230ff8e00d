package dev.catnap.cli;

import dev.catnap.registry.DownloadException;
import dev.catnap.registry.DownloadRequest;
import dev.catnap.registry.DownloadResult;
import dev.catnap.registry.DownloadSettings;
import dev.catnap.registry.Downloader;
import dev.catnap.registry.LocalModel;
import dev.catnap.registry.ModelCache;
import dev.catnap.registry.ModelId;
import dev.catnap.registry.ModelKind;
import java.io.Console;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure the models a server will load are in the cache before anything starts, as {@code tabby serve} does:
 * a model id missing from the cache is downloaded (with progress), unless offline, where it is one clear line that
 * names {@code catnap download}. Files and directories given as paths are left to {@code serve} to check.
 */
final class ModelProvisioning {
    private static final Logger log = LoggerFactory.getLogger("models");

    /** The deployment's own models, served when no model flag is given. */
    static final String DEFAULT_COMPLETION = "TabbyML/StarCoder-1B";

    static final String DEFAULT_CHAT = "TabbyML/Qwen2-1.5B-Instruct";
    static final String DEFAULT_EMBEDDING = "TabbyML/Nomic-Embed-Text";

    private final Path cache;
    private final boolean offline;
    private final Optional<String> registry;
    private final Map<String, String> env;

    ModelProvisioning(Path cache, boolean offline, Optional<String> registry, Map<String, String> env) {
        this.cache = cache;
        this.offline = offline;
        this.registry = registry;
        this.env = env;
    }

    /** Downloads {@code spec} when it is a model id that the cache lacks; nothing for paths or cached models. */
    void ensure(String spec, ModelKind kind, String flag) throws InterruptedException {
        if (spec == null) return;
        Optional<ModelId> missing = missingId(spec, cache);
        if (missing.isEmpty()) return;
        ModelId id = missing.get();
        if (offline) {
            throw new UserError(
                    flag + " " + id + " is not in the model cache (looked in " + new ModelCache(cache).modelDir(id)
                            + ") and --offline is set; fetch it first with: catnap download --model " + id
                            + " --kind " + kind.name().toLowerCase(Locale.ROOT));
        }
        log.info("{} is not in the model cache {}: downloading it now, before any request is served", id, cache);
        Console console = System.console();
        DownloadSettings settings = DownloadSettings.defaults(env, console != null && console.isTerminal());
        try (Downloader downloader = new Downloader(cache, settings)) {
            DownloadResult r = downloader.download(new DownloadRequest(id, registry, false, Optional.of(kind)));
            log.info(
                    "{} downloaded and verified ({} MiB) into {}",
                    id,
                    String.format(Locale.ROOT, "%.1f", r.bytesFetched() / 1048576.0),
                    r.model().dir());
        } catch (DownloadException e) {
            throw new UserError(
                    "cannot download " + id + ": " + e.getMessage()
                            + "; where there is a network, fetch it with: catnap download --model " + id + " (or give "
                            + flag + " FILE.gguf)",
                    DownloadCommand.exitCode(e.kind()));
        }
    }

    /** A model id (not a path) with no GGUF in the cache. */
    static Optional<ModelId> missingId(String spec, Path cache) {
        try {
            if (Files.exists(Path.of(spec))) return Optional.empty();
        } catch (InvalidPathException e) {
            // not a path
        }
        if (spec.endsWith(".gguf")
                || spec.startsWith(".")
                || spec.startsWith("/")
                || spec.startsWith("~")
                || spec.chars().filter(c -> c == '/').count() > 1) {
            return Optional.empty(); // a path that does not exist: serve says so
        }
        ModelId id;
        try {
            id = ModelId.parse(spec);
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // serve reports the bad id
        }
        Optional<LocalModel> found = new ModelCache(cache).find(id);
        return found.isPresent() && !found.get().ggufParts().isEmpty() ? Optional.empty() : Optional.of(id);
    }
}
