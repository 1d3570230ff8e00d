package dev.catnap.index;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jgit.dircache.DirCache;
import org.eclipse.jgit.dircache.DirCacheIterator;
import org.eclipse.jgit.errors.RepositoryNotFoundException;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.FileTreeIterator;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.WorkingTreeIterator;
import org.eclipse.jgit.treewalk.filter.TreeFilter;

/**
 * The files of a git work tree that the index reads, with JGit: tracked files, and untracked ones that
 * {@code .gitignore} does not exclude; ignored directories are not entered. Vendored paths, files of languages the
 * index does not know and files over {@link #MAX_FILE_BYTES} are left out without reading them. Each file comes with
 * its git blob id: from git's index when the file is unchanged there (no read), else hashed from the work tree.
 */
final class GitFiles {
    static final long MAX_FILE_BYTES = 1 << 20;
    private static final Set<String> VENDORED_DIRS = Set.of(
            "node_modules",
            "vendor",
            "third_party",
            "thirdparty",
            "3rdparty",
            "bower_components",
            "Pods",
            ".venv",
            "venv",
            "site-packages",
            "__pycache__",
            ".git");

    /** A file to index: path relative to the work tree (with '/'), its blob id and size. */
    record SourceFile(String path, String blobId, long size) {}

    record Listing(Path workTree, List<SourceFile> files, int skipped) {}

    private GitFiles() {}

    /** Lists the work tree that contains {@code dir}; an IOException with a readable message when it is no git work tree. */
    static Listing list(Path dir) throws IOException {
        Repository repo;
        try {
            repo = new FileRepositoryBuilder()
                    .findGitDir(dir.toFile())
                    .setMustExist(true)
                    .build();
        } catch (RepositoryNotFoundException | IllegalArgumentException e) {
            throw new IOException(dir + " is not inside a git repository");
        }
        try (repo) {
            if (repo.getDirectory() == null) throw new IOException(dir + " is not inside a git repository");
            if (repo.isBare()) throw new IOException(dir + " is a bare repository (no work tree)");
            File workTree = repo.getWorkTree();
            DirCache index = repo.readDirCache();
            var files = new ArrayList<SourceFile>();
            int skipped = 0;
            try (TreeWalk walk = new TreeWalk(repo)) {
                int cached = walk.addTree(new DirCacheIterator(index));
                int work = walk.addTree(new FileTreeIterator(repo));
                walk.setRecursive(true);
                walk.setFilter(new Wanted(cached, work));
                while (walk.next()) {
                    WorkingTreeIterator wt = walk.getTree(work, WorkingTreeIterator.class);
                    if (wt == null) continue; // tracked but deleted from the work tree
                    FileMode mode = wt.getEntryFileMode();
                    if (mode != FileMode.REGULAR_FILE && mode != FileMode.EXECUTABLE_FILE)
                        continue; // links, submodules
                    String path = walk.getPathString();
                    if (CodeLanguage.ofPath(path).isEmpty() || vendored(path) || wt.getEntryLength() > MAX_FILE_BYTES) {
                        skipped++;
                        continue;
                    }
                    DirCacheIterator dc = walk.getTree(cached, DirCacheIterator.class);
                    ObjectId blob = dc != null && !wt.isModified(dc.getDirCacheEntry(), false, walk.getObjectReader())
                            ? dc.getEntryObjectId()
                            : wt.getEntryObjectId();
                    files.add(new SourceFile(path, blob.name(), wt.getEntryLength()));
                }
            }
            return new Listing(workTree.toPath(), files, skipped);
        }
    }

    static boolean vendored(String path) {
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".min.js")
                || lower.endsWith("_pb2.py")
                || lower.endsWith(".pb.go")
                || lower.contains(".generated.")) return true;
        for (String segment : path.split("/")) if (VENDORED_DIRS.contains(segment)) return true;
        return false;
    }

    /** Keeps tracked entries and untracked ones that are not ignored; the walk then does not enter ignored directories. */
    private static final class Wanted extends TreeFilter {
        private final int cached;
        private final int work;

        Wanted(int cached, int work) {
            this.cached = cached;
            this.work = work;
        }

        @Override
        public boolean include(TreeWalk walk) throws IOException {
            if (walk.getTree(cached, DirCacheIterator.class) != null) return true;
            WorkingTreeIterator wt = walk.getTree(work, WorkingTreeIterator.class);
            return wt != null && !wt.isEntryIgnored();
        }

        @Override
        public boolean shouldBeRecursive() {
            return false;
        }

        @Override
        public TreeFilter clone() {
            return this;
        }
    }
}
