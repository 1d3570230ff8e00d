package dev.catnap.index;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A repository to index, as Tabby's {@code [[repositories]]} names it: a git URL, or a local clone given as a path
 * or {@code file://} URL. {@link #source()} is the key the index files its chunks under.
 */
public record Repository(String name, String gitUrl) {
    private static final Pattern SCP_LIKE = Pattern.compile("^[\\w.-]+@[\\w.-]+:.+$"); // git@github.com:acme/demo.git
    private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://.*$");

    public Repository {
        Objects.requireNonNull(gitUrl, "git_url");
        if (gitUrl.isBlank()) throw new IllegalArgumentException("a repository needs a git_url (or path)");
        gitUrl = gitUrl.strip();
        if (name == null || name.isBlank()) name = nameOf(gitUrl);
    }

    /** From {@code --repository PATH_OR_GIT_URL}: a path is made absolute so the source key does not depend on the working directory. */
    public static Repository of(String pathOrUrl) {
        String s = pathOrUrl.strip();
        if (!SCHEME.matcher(s).matches() && !SCP_LIKE.matcher(s).matches())
            s = Path.of(s).toAbsolutePath().normalize().toString();
        return new Repository(null, s);
    }

    /** The local directory for a path or {@code file://} URL; empty for a remote URL. */
    public Optional<Path> localPath() {
        if (gitUrl.startsWith("file://")) return Optional.of(Path.of(URI.create(gitUrl)));
        if (SCHEME.matcher(gitUrl).matches() || SCP_LIKE.matcher(gitUrl).matches()) return Optional.empty();
        return Optional.of(Path.of(gitUrl));
    }

    /** The index's key: the URL without credentials, trailing slash or {@code .git}; paths as {@code file://} URLs. */
    public String source() {
        return canonical(localPath()
                .map(p -> p.toAbsolutePath().normalize().toUri().toString())
                .orElse(gitUrl));
    }

    /** A request's {@code git_url} in the same canonical form. */
    public static String canonical(String url) {
        String s = url.strip();
        int scheme = s.indexOf("://");
        if (scheme > 0) {
            int at = s.indexOf('@', scheme + 3);
            int slash = s.indexOf('/', scheme + 3);
            if (at > 0 && (slash < 0 || at < slash))
                s = s.substring(0, scheme + 3) + s.substring(at + 1); // credentials
            s = s.substring(0, scheme).toLowerCase(Locale.ROOT) + s.substring(scheme);
        }
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        if (s.endsWith(".git")) s = s.substring(0, s.length() - 4);
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        return s;
    }

    /** Tabby's repository name: the last path segment of the URL, without {@code .git}. */
    public static String nameOf(String url) {
        String s = canonical(url);
        int cut = Math.max(s.lastIndexOf('/'), s.lastIndexOf(':'));
        String name = s.substring(cut + 1);
        return name.isEmpty() ? s : name;
    }

    /** Whether this is a directory that exists (for local repositories). */
    boolean localExists() {
        return localPath().map(Files::isDirectory).orElse(false);
    }
}
