package dev.catnap.engine.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Reads the fixture files as plain maps, lists and numbers, with helpers for the shapes they use. */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    public static Object read(Path path) throws IOException {
        return MAPPER.readValue(path.toFile(), Object.class);
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    public static List<Object> array(Object o) {
        return (List<Object>) o;
    }

    public static int[] ints(Object o) {
        return array(o).stream().mapToInt(v -> ((Number) v).intValue()).toArray();
    }

    /** Fixture floats are float32 values printed to round-trip: parsed as doubles, then rounded to float. */
    public static float[] floats(Object o) {
        List<Object> a = array(o);
        float[] f = new float[a.size()];
        for (int k = 0; k < f.length; k++) f[k] = (float) ((Number) a.get(k)).doubleValue();
        return f;
    }
}
