package dev.catnap.index;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The part of Tabby's {@code config.toml} that Catnap reads: {@code [[repositories]]} with {@code git_url} and an
 * optional {@code name}. Other sections are Tabby's and are left alone.
 */
public final class TabbyConfig {
    private TabbyConfig() {}

    /** {@code $TABBY_ROOT/config.toml}, else {@code ~/.tabby/config.toml}. */
    public static Path defaultPath(Map<String, String> env) {
        String root = env.get("TABBY_ROOT");
        return root != null && !root.isBlank()
                ? Path.of(root, "config.toml")
                : Path.of(System.getProperty("user.home"), ".tabby", "config.toml");
    }

    /** The repositories of a config file; a file that is absent has none. Bad TOML or a bad entry is an IllegalArgumentException naming the file. */
    public static List<Repository> repositories(Path file) {
        if (!Files.exists(file)) return List.of();
        JsonNode root;
        try {
            root = new TomlMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + firstLine(e.getMessage()));
        }
        JsonNode list = root.path("repositories");
        if (list.isMissingNode()) return List.of();
        if (!list.isArray())
            throw new IllegalArgumentException(file + ": 'repositories' must be an array of tables ([[repositories]])");
        var out = new ArrayList<Repository>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode entry = list.get(i);
            JsonNode url = entry.path("git_url");
            if (!url.isTextual() || url.asText().isBlank()) {
                throw new IllegalArgumentException(file + ": repositories[" + i + "] needs a git_url string");
            }
            JsonNode name = entry.path("name");
            String u = url.asText();
            // relative paths in the file are relative to the file, as a user writing it expects
            if (!u.contains("://") && !u.matches("^[\\w.-]+@[\\w.-]+:.+$"))
                u = file.toAbsolutePath().getParent().resolve(u).normalize().toString();
            out.add(new Repository(name.isTextual() ? name.asText() : null, u));
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
