package dev.catnap.registry;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * Proof that a model's files were hashed and matched: for each part its size, mtime and SHA-256.
 * A model whose files still have those sizes and mtimes, and whose tabby.json still expects those hashes,
 * is trusted without rehashing gigabytes or touching the network.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
record VerifiedMarker(@JsonProperty("parts") List<Part> parts) {
    static final String FILE_NAME = ".catnap-verified.json";

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Part(
            @JsonProperty("file") String file,
            @JsonProperty("size") long size,
            @JsonProperty("mtime_ms") long mtimeMillis,
            @JsonProperty("sha256") String sha256) {

        static Part of(Path file, String sha256) throws IOException {
            return new Part(
                    file.getFileName().toString(),
                    Files.size(file),
                    Files.getLastModifiedTime(file).toMillis(),
                    sha256);
        }

        boolean matches(Path file) {
            try {
                return Files.size(file) == size
                        && Files.getLastModifiedTime(file).toMillis() == mtimeMillis;
            } catch (IOException e) {
                return false;
            }
        }
    }

    static Path path(Path modelDir) {
        return modelDir.resolve(FILE_NAME);
    }

    static VerifiedMarker readOrNull(Path modelDir) {
        try {
            return Json.read(path(modelDir), VerifiedMarker.class);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null; // a damaged marker only costs a rehash
        }
    }

    void write(Path modelDir) throws IOException {
        Json.writeAtomically(path(modelDir), Json.bytes(this));
    }

    static void delete(Path modelDir) throws IOException {
        Files.deleteIfExists(path(modelDir));
    }

    /** True when every part file is unchanged since hashing and its hash is the one expected (an empty expectation never verifies). */
    boolean vouchesFor(List<Path> partFiles, List<String> expectedHashes) {
        if (parts == null || parts.size() != partFiles.size() || expectedHashes.size() != partFiles.size())
            return false;
        for (int i = 0; i < partFiles.size(); i++) {
            Part p = parts.get(i);
            Path f = partFiles.get(i);
            String expected = expectedHashes.get(i);
            if (p == null || !f.getFileName().toString().equals(p.file()) || !p.matches(f)) return false;
            if (expected.isEmpty() || !expected.equalsIgnoreCase(p.sha256())) return false;
        }
        return true;
    }
}
