package dev.catnap.registry;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** JSON files of the cache. The mapper is configured once here and never changed afterwards. */
final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Json() {}

    static ModelInfo readModelInfo(Path file) throws IOException {
        try {
            ModelInfo info = MAPPER.readValue(file.toFile(), ModelInfo.class);
            if (info == null) throw new IOException("empty JSON");
            return info;
        } catch (IOException e) {
            throw new IOException("cannot read " + file + ": " + oneLine(e), e);
        }
    }

    static List<ModelInfo> parseRegistry(byte[] json, String source) throws IOException {
        try {
            List<ModelInfo> entries = MAPPER.readValue(json, new TypeReference<List<ModelInfo>>() {});
            if (entries == null) throw new IOException("empty JSON");
            for (ModelInfo e : entries) {
                if (e == null || e.name() == null) throw new IOException("an entry has no \"name\"");
            }
            return entries;
        } catch (IOException e) {
            throw new IOException(
                    "registry " + source + " is not a Tabby models.json (a JSON array of models): " + oneLine(e), e);
        }
    }

    static <T> T read(Path file, Class<T> type) throws IOException {
        return MAPPER.readValue(file.toFile(), type);
    }

    static byte[] bytes(Object value) throws IOException {
        return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
    }

    /** Writes via a temporary sibling and an atomic rename, so readers never see half a file. */
    static void writeAtomically(Path file, byte[] content) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp-"
                + ProcessHandle.current().pid() + "-" + Thread.currentThread().threadId());
        try {
            Files.write(tmp, content);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    static String oneLine(Throwable e) {
        String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = msg.indexOf('\n');
        return nl < 0 ? msg : msg.substring(0, nl);
    }
}
