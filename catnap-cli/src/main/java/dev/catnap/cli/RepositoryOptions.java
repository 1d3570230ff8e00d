package dev.catnap.cli;

import dev.catnap.index.Repository;
import dev.catnap.index.TabbyConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** The repositories to index and where their index lives; shared by {@code index} and {@code serve}. */
final class RepositoryOptions {
    @Option(
            names = "--repository",
            paramLabel = "PATH_OR_GIT_URL",
            description =
                    "A repository to index or search: a local clone (path or file:// URL) or a git URL (repeatable).")
    List<String> repositories = new ArrayList<>();

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description =
                    "Tabby's config.toml, read for [[repositories]] (name, git_url) (default $TABBY_ROOT/config.toml, else ~/.tabby/config.toml, if present).")
    Path config;

    @Option(
            names = "--index-dir",
            paramLabel = "DIR",
            description =
                    "The code index (default $CATNAP_INDEX_DIR, else $TABBY_ROOT/catnap-index, else ~/.tabby/catnap-index).")
    Path indexDir;

    /** --repository flags, then the config file's entries; one per source. */
    List<Repository> resolve(Map<String, String> env) {
        Path file = config != null ? config : TabbyConfig.defaultPath(env);
        if (config != null && !file.toFile().isFile()) throw new UserError("--config " + config + ": no such file");
        var bySource = new LinkedHashMap<String, Repository>();
        try {
            for (String r : repositories) {
                Repository repo = Repository.of(r);
                bySource.putIfAbsent(repo.source(), repo);
            }
            for (Repository repo : TabbyConfig.repositories(file)) bySource.putIfAbsent(repo.source(), repo);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        return List.copyOf(bySource.values());
    }

    Path indexDir(Map<String, String> env) {
        if (indexDir != null) return indexDir;
        return defaultIndexDir(env);
    }

    static Path defaultIndexDir(Map<String, String> env) {
        String dir = env.get("CATNAP_INDEX_DIR");
        if (dir != null && !dir.isBlank()) return Path.of(dir);
        String root = env.get("TABBY_ROOT");
        // not $TABBY_ROOT/index: that is Tabby's own (Tantivy) index, and a shared TABBY_ROOT must keep working for
        // both
        return root != null && !root.isBlank()
                ? Path.of(root, "catnap-index")
                : Path.of(System.getProperty("user.home"), ".tabby", "catnap-index");
    }
}
