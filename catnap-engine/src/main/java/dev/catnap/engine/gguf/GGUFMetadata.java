package dev.catnap.engine.gguf;

import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The key/value metadata of a GGUF file, in file order. Scalars are boxed Java values (unsigned integers widened so
 * they stay non-negative: UINT8/UINT16 to Integer, UINT32 to Long, UINT64 to Long), strings are String, arrays of
 * strings are {@code List<String>}, numeric arrays are primitive arrays ({@code int[]} for INT32, {@code long[]} for
 * UINT32/INT64/UINT64, {@code float[]}, {@code double[]}, {@code byte[]} for INT8/UINT8, {@code short[]} for
 * INT16/UINT16, {@code boolean[]}), arrays of arrays are {@code List<Object>}.
 */
public final class GGUFMetadata {
    private final Map<String, Object> values;
    private final Map<String, GGUFValueType> types;
    private final Map<String, GGUFValueType> elementTypes;

    /** Metadata built in memory: value types are inferred from the Java values (see {@link #type}). */
    public GGUFMetadata(Map<String, Object> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        this.types = new HashMap<>();
        this.elementTypes = new HashMap<>();
        for (var e : this.values.entrySet()) {
            GGUFValueType t = inferScalarType(e.getValue());
            if (t == null) {
                t = GGUFValueType.ARRAY;
                elementTypes.put(e.getKey(), GGUFArray.of(e.getValue()).elementType());
            }
            types.put(e.getKey(), t);
        }
    }

    /** Metadata read from a file, with the types the file recorded. */
    GGUFMetadata(
            Map<String, Object> values, Map<String, GGUFValueType> types, Map<String, GGUFValueType> elementTypes) {
        this.values = Collections.unmodifiableMap(values);
        this.types = types;
        this.elementTypes = elementTypes;
    }

    /** The GGUF type of a value, or null when the key is missing. Inferred when built in memory: Integer is INT32, Long INT64, Float FLOAT32, Double FLOAT64, Short INT16, Byte INT8. */
    public GGUFValueType type(String key) {
        return types.get(key);
    }

    /** The element type of an array value, or null when the key is missing or not an array. */
    public GGUFValueType arrayElementType(String key) {
        return elementTypes.get(key);
    }

    static GGUFValueType inferScalarType(Object v) {
        return switch (v) {
            case String s -> GGUFValueType.STRING;
            case Boolean b -> GGUFValueType.BOOL;
            case Byte b -> GGUFValueType.INT8;
            case Short b -> GGUFValueType.INT16;
            case Integer b -> GGUFValueType.INT32;
            case Long b -> GGUFValueType.INT64;
            case Float b -> GGUFValueType.FLOAT32;
            case Double b -> GGUFValueType.FLOAT64;
            case null -> throw new IllegalArgumentException("metadata values cannot be null");
            default -> null;
        };
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public Map<String, Object> asMap() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The raw value, or null. */
    public Object get(String key) {
        return values.get(key);
    }

    private Object require(String key) {
        Object v = values.get(key);
        if (v == null) throw new NoSuchElementException("metadata key " + key + " is missing");
        return v;
    }

    public String getString(String key) {
        return require(key) instanceof String s ? s : typeError(key, "a string");
    }

    public String getString(String key, String fallback) {
        return values.get(key) instanceof String s ? s : fallback;
    }

    public long getLong(String key) {
        return switch (require(key)) {
            case Number n when !(n instanceof Float || n instanceof Double) -> n.longValue();
            case Boolean b -> b ? 1 : 0;
            default -> typeError(key, "an integer");
        };
    }

    public long getLong(String key, long fallback) {
        return has(key) ? getLong(key) : fallback;
    }

    public int getInt(String key) {
        return Math.toIntExact(getLong(key));
    }

    public int getInt(String key, int fallback) {
        return has(key) ? getInt(key) : fallback;
    }

    public float getFloat(String key) {
        return require(key) instanceof Number n ? n.floatValue() : typeError(key, "a number");
    }

    public float getFloat(String key, float fallback) {
        return has(key) ? getFloat(key) : fallback;
    }

    public boolean getBoolean(String key, boolean fallback) {
        return switch (values.get(key)) {
            case null -> fallback;
            case Boolean b -> b;
            case Number n -> n.longValue() != 0;
            default -> typeError(key, "a boolean");
        };
    }

    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        if (require(key) instanceof List<?> l && (l.isEmpty() || l.getFirst() instanceof String))
            return (List<String>) l;
        return typeError(key, "an array of strings");
    }

    public float[] getFloatArray(String key) {
        return require(key) instanceof float[] f ? f : typeError(key, "an array of FLOAT32");
    }

    /** Any integer array (INT8 to INT64, signed or not) as ints; values outside int range are an error. */
    public int[] getIntArray(String key) {
        return switch (require(key)) {
            case int[] a -> a;
            case long[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = Math.toIntExact(a[i]);
                yield r;
            }
            case short[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = a[i];
                yield r;
            }
            case byte[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) r[i] = a[i];
                yield r;
            }
            default -> typeError(key, "an integer array");
        };
    }

    /** {@code general.architecture}, e.g. {@code starcoder}, {@code qwen2}, {@code nomic-bert}. */
    public String architecture() {
        return getString("general.architecture", "unknown");
    }

    private <T> T typeError(String key, String expected) {
        Object v = values.get(key);
        throw new IllegalArgumentException("metadata key " + key + " is " + describe(v) + ", expected " + expected);
    }

    static String describe(Object v) {
        return v == null ? "missing" : v.getClass().getSimpleName();
    }

    @Override
    public String toString() {
        return "GGUFMetadata" + values.keySet();
    }
}
