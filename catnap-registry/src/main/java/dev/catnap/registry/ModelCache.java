package dev.catnap.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Reads a models dir in Tabby's layout: {@code DIR/Org/Name/tabby.json} and {@code DIR/Org/Name/ggml/model-0000i-of-0000N.gguf}. */
public final class ModelCache {
    static final String TABBY_JSON = "tabby.json";
    static final String GGML_DIR = "ggml";
    private static final Pattern PART_FILE = Pattern.compile("model-(\\d{5})-of-(\\d{5})\\.gguf");

    private final Path modelsDir;

    public ModelCache(Path modelsDir) {
        this.modelsDir = modelsDir.toAbsolutePath().normalize();
    }

    public Path modelsDir() {
        return modelsDir;
    }

    /** Where a model lives (or would live) in this cache. */
    public Path modelDir(ModelId id) {
        return modelsDir.resolve(id.org()).resolve(id.name());
    }

    /**
     * The model when it is fully present (tabby.json and every part); empty when absent or incomplete.
     * Throws UncheckedIOException when its tabby.json exists but cannot be read.
     */
    public Optional<LocalModel> find(ModelId id) {
        Path dir = modelDir(id);
        if (!Files.isRegularFile(dir.resolve(TABBY_JSON))) return Optional.empty();
        try {
            return Optional.of(load(id, dir));
        } catch (IncompleteModelException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** Every complete model in the cache, by id. Unreadable or incomplete entries are left out (see {@link #inspect()}). */
    public List<LocalModel> list() {
        List<LocalModel> models = new ArrayList<>();
        for (ModelId id : modelIds()) {
            try {
                models.add(load(id, modelDir(id)));
            } catch (IOException e) {
                // incomplete or unreadable: inspect() reports it
            }
        }
        return models;
    }

    /** Every model directory in the cache with its size and whether its files are verified, for {@code catnap models}. */
    public List<CachedModel> inspect() {
        return modelIds().stream().map(id -> inspect(id, modelDir(id))).toList();
    }

    /** The directories shaped like models (valid id parts, a tabby.json), ordered by id. */
    private List<ModelId> modelIds() {
        var ids = new TreeMap<String, ModelId>();
        for (Path orgDir : children(modelsDir)) {
            if (!Files.isDirectory(orgDir)
                    || !ModelId.isValidPart(orgDir.getFileName().toString())) continue;
            for (Path dir : children(orgDir)) {
                if (!Files.isRegularFile(dir.resolve(TABBY_JSON))
                        || !ModelId.isValidPart(dir.getFileName().toString())) continue;
                ModelId id = new ModelId(
                        orgDir.getFileName().toString(), dir.getFileName().toString());
                ids.put(id.toString(), id);
            }
        }
        return List.copyOf(ids.values());
    }

    /** True when every part's size and mtime still match a recorded hash that equals the one tabby.json expects. */
    public boolean isVerified(LocalModel model) {
        try {
            ModelInfo info = Json.readModelInfo(model.dir().resolve(TABBY_JSON));
            VerifiedMarker marker = VerifiedMarker.readOrNull(model.dir());
            return marker != null && marker.vouchesFor(model.ggufParts(), info.expectedHashes());
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * A model directory given by path, in Tabby layout: {@code tabby.json} (templates) and {@code ggml/} (GGUF parts).
     * Its id is {@code Parent/Dir} when those are valid id parts, else {@code local/Dir}.
     */
    public static LocalModel fromDirectory(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) throw new IOException(dir + " is not a directory");
        if (!Files.isRegularFile(abs.resolve(TABBY_JSON))) {
            throw new IOException(dir + " is not a model directory: it has no " + TABBY_JSON);
        }
        String name = abs.getFileName() == null ? "" : abs.getFileName().toString();
        String org = abs.getParent() == null || abs.getParent().getFileName() == null
                ? ""
                : abs.getParent().getFileName().toString();
        ModelId id = new ModelId(ModelId.isValidPart(org) ? org : "local", ModelId.isValidPart(name) ? name : "model");
        return load(id, abs);
    }

    static LocalModel load(ModelId id, Path dir) throws IOException {
        ModelInfo info = Json.readModelInfo(dir.resolve(TABBY_JSON));
        List<Path> parts = partFiles(dir.resolve(GGML_DIR));
        int expectedCount = info.parts().size();
        if (expectedCount > 0 && parts.size() != expectedCount) {
            throw new IncompleteModelException("model " + id + " in " + dir + " has " + parts.size()
                    + " GGUF file(s), its tabby.json names " + expectedCount);
        }
        return new LocalModel(id, dir, parts, info.prompt(), info.chat());
    }

    /** The complete, ordered part files in a ggml dir; the legacy single {@code model.gguf} counts as one part. */
    static List<Path> partFiles(Path ggmlDir) throws IOException {
        var byIndex = new TreeMap<Integer, Path>();
        int count = -1;
        for (Path f : children(ggmlDir)) {
            Matcher m = PART_FILE.matcher(f.getFileName().toString());
            if (!m.matches() || !Files.isRegularFile(f)) continue;
            int n = Integer.parseInt(m.group(2));
            if (count >= 0 && n != count)
                throw new IncompleteModelException(ggmlDir + " mixes GGUF parts of " + count + " and " + n + " files");
            count = n;
            byIndex.put(Integer.parseInt(m.group(1)), f);
        }
        if (byIndex.isEmpty()) {
            Path legacy = ggmlDir.resolve("model.gguf");
            if (Files.isRegularFile(legacy)) return List.of(legacy);
            throw new IncompleteModelException("no GGUF file in " + ggmlDir);
        }
        for (int i = 1; i <= count; i++) {
            if (!byIndex.containsKey(i))
                throw new IncompleteModelException(ggmlDir + " lacks " + ModelInfo.partFileName(i, count));
        }
        if (byIndex.size() != count) throw new IncompleteModelException(ggmlDir + " has GGUF parts beyond " + count);
        return List.copyOf(byIndex.values());
    }

    private CachedModel inspect(ModelId id, Path dir) {
        long size = sizeOfGguf(dir.resolve(GGML_DIR));
        try {
            LocalModel m = load(id, dir);
            return new CachedModel(
                    id, dir, size, isVerified(m) ? CachedModel.Status.VERIFIED : CachedModel.Status.UNVERIFIED);
        } catch (IncompleteModelException e) {
            return new CachedModel(id, dir, size, CachedModel.Status.INCOMPLETE);
        } catch (IOException e) {
            return new CachedModel(id, dir, size, CachedModel.Status.BROKEN);
        }
    }

    private static long sizeOfGguf(Path ggmlDir) {
        long total = 0;
        for (Path f : children(ggmlDir)) {
            String n = f.getFileName().toString();
            try {
                if (Files.isRegularFile(f) && (n.endsWith(".gguf") || n.endsWith(".gguf.part"))) total += Files.size(f);
            } catch (IOException ignored) {
                // vanished while listing: it no longer takes space
            }
        }
        return total;
    }

    private static List<Path> children(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Parts are missing or inconsistent: the model is not (yet) usable, which is not an error for lookups. */
    static final class IncompleteModelException extends IOException {
        IncompleteModelException(String message) {
            super(message);
        }
    }
}
