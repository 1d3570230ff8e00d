package dev.catnap.index;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.ResetCommand;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.RepositoryCache;
import org.eclipse.jgit.util.FS;

/**
 * Where a repository's files are read from: a local clone in place; a remote URL (or a local bare repository) is
 * cloned with JGit into {@code dir/NAME-HASH} on first use and fetched and reset to its upstream branch afterwards,
 * as Tabby keeps clones under {@code $TABBY_ROOT/repositories}.
 */
public final class Checkouts {
    private final Path dir;

    public Checkouts(Path dir) {
        this.dir = dir;
    }

    /** The work tree to index; an IOException with one readable line when it cannot be had. */
    public Path workTree(Repository repo) throws IOException {
        var local = repo.localPath();
        if (local.isPresent()) {
            Path p = local.get();
            if (!Files.exists(p)) throw new IOException("no such directory: " + p);
            if (!Files.isDirectory(p)) throw new IOException("not a directory: " + p);
            if (!RepositoryCache.FileKey.isGitRepository(p.toFile(), FS.DETECTED))
                return p; // a work tree (or not git at all: GitFiles says so)
        }
        Path clone = dir.resolve(safe(repo.name()) + "-" + hash(repo.source()));
        String uri = local.map(p -> p.toAbsolutePath().toString()).orElse(repo.gitUrl());
        try {
            if (Files.isDirectory(clone.resolve(".git"))) {
                try (Git git = Git.open(clone.toFile())) {
                    git.fetch().setRemote("origin").call();
                    String branch = git.getRepository().getBranch();
                    git.reset()
                            .setMode(ResetCommand.ResetType.HARD)
                            .setRef("refs/remotes/origin/" + branch)
                            .call();
                }
            } else {
                Files.createDirectories(dir);
                try (Git ignored = Git.cloneRepository()
                        .setURI(uri)
                        .setDirectory(clone.toFile())
                        .call()) {
                    // cloned
                }
            }
        } catch (GitAPIException | RuntimeException e) {
            throw new IOException("cannot clone or fetch " + repo.gitUrl() + ": " + e.getMessage());
        }
        return clone;
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
