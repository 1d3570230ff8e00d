package dev.catnap.index;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.errors.GitAPIException;

/** A real git repository in a temporary folder, written and committed with JGit. */
final class TestRepo implements AutoCloseable {
    final Path dir;
    final Git git;

    TestRepo(Path dir) throws GitAPIException {
        this.dir = dir;
        this.git =
                Git.init().setDirectory(dir.toFile()).setInitialBranch("main").call();
    }

    TestRepo write(String path, String content) throws IOException {
        Path file = dir.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return this;
    }

    TestRepo commit(String message) throws GitAPIException {
        git.add().addFilepattern(".").call();
        git.add().addFilepattern(".").setUpdate(true).call(); // deletions too
        git.commit()
                .setMessage(message)
                .setAuthor("test", "test@catnap.local")
                .setCommitter("test", "test@catnap.local")
                .setSign(false)
                .call();
        return this;
    }

    @Override
    public void close() {
        git.close();
    }
}
