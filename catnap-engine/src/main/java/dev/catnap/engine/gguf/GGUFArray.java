package dev.catnap.engine.gguf;

import java.util.List;

/**
 * A metadata array with an explicit element type, for writing: Java arrays alone cannot tell UINT32 from INT64 or
 * UINT8 from INT8. {@code values} is a primitive array for numbers ({@code byte[]}, {@code short[]}, {@code int[]} or
 * {@code long[]} for any integer type, each value checked against the type's range, bytes of UINT8 and shorts of
 * UINT16 taken as unsigned; {@code float[]} or
 * {@code double[]} for FLOAT32/FLOAT64), {@code boolean[]} for BOOL, a {@code List<String>} for STRING, and for ARRAY a
 * {@code List} whose items are {@code GGUFArray}s or raw arrays (typed as {@link #of(Object)} would).
 */
public record GGUFArray(GGUFValueType elementType, Object values) {
    public GGUFArray {
        if (elementType == null || values == null)
            throw new IllegalArgumentException("array element type and values are required");
        switch (elementType) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                int n = integerLength(values);
                if (n < 0) throw mismatch(elementType, values);
                for (int i = 0; i < n; i++) checkRange(elementType, integerAt(values, i, elementType));
            }
            case FLOAT32, FLOAT64 -> {
                if (!(values instanceof float[] || values instanceof double[])) throw mismatch(elementType, values);
            }
            case BOOL -> {
                if (!(values instanceof boolean[])) throw mismatch(elementType, values);
            }
            case STRING -> {
                if (!(values instanceof List<?> l) || l.stream().anyMatch(v -> !(v instanceof String)))
                    throw mismatch(elementType, values);
                values = List.copyOf(l);
            }
            case ARRAY -> {
                if (!(values instanceof List<?> l)) throw mismatch(elementType, values);
                values = l.stream()
                        .map(v -> v instanceof GGUFArray a ? a : of(v))
                        .toList();
            }
        }
    }

    /**
     * Types a raw array as the reader returns it: {@code byte[]} INT8, {@code short[]} INT16, {@code int[]} INT32,
     * {@code long[]} INT64, {@code float[]} FLOAT32, {@code double[]} FLOAT64, {@code boolean[]} BOOL, a list of strings
     * (or an empty list) STRING, any other list ARRAY.
     */
    public static GGUFArray of(Object values) {
        return switch (values) {
            case GGUFArray a -> a;
            case byte[] a -> new GGUFArray(GGUFValueType.INT8, a);
            case short[] a -> new GGUFArray(GGUFValueType.INT16, a);
            case int[] a -> new GGUFArray(GGUFValueType.INT32, a);
            case long[] a -> new GGUFArray(GGUFValueType.INT64, a);
            case float[] a -> new GGUFArray(GGUFValueType.FLOAT32, a);
            case double[] a -> new GGUFArray(GGUFValueType.FLOAT64, a);
            case boolean[] a -> new GGUFArray(GGUFValueType.BOOL, a);
            case List<?> l when l.stream().allMatch(v -> v instanceof String) -> new GGUFArray(GGUFValueType.STRING, l);
            case List<?> l -> new GGUFArray(GGUFValueType.ARRAY, l);
            case null -> throw new IllegalArgumentException("array values are required");
            default ->
                throw new IllegalArgumentException(
                        "not an array value: " + values.getClass().getSimpleName());
        };
    }

    public int length() {
        return switch (values) {
            case List<?> l -> l.size();
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            default -> integerLength(values);
        };
    }

    static int integerLength(Object values) {
        return switch (values) {
            case byte[] a -> a.length;
            case short[] a -> a.length;
            case int[] a -> a.length;
            case long[] a -> a.length;
            default -> -1;
        };
    }

    /**
     * Element {@code i} as a long. A {@code byte[]} of UINT8 and a {@code short[]} of UINT16 are read as unsigned, the
     * way the reader stores those types.
     */
    static long integerAt(Object values, int i, GGUFValueType type) {
        return switch (values) {
            case byte[] a -> type == GGUFValueType.UINT8 ? a[i] & 0xff : a[i];
            case short[] a -> type == GGUFValueType.UINT16 ? a[i] & 0xffff : a[i];
            case int[] a -> a[i];
            case long[] a -> a[i];
            default -> throw new IllegalArgumentException("not an integer array");
        };
    }

    /** Rejects an integer that the GGUF type cannot hold. UINT64 takes any long (its bits are written as is). */
    static void checkRange(GGUFValueType type, long v) {
        boolean ok = switch (type) {
            case UINT8 -> v >= 0 && v <= 0xff;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xffff;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xffffffffL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            default -> true;
        };
        if (!ok) throw new IllegalArgumentException(v + " does not fit " + type);
    }

    private static IllegalArgumentException mismatch(GGUFValueType type, Object values) {
        return new IllegalArgumentException(
                "an array of " + type + " cannot hold " + values.getClass().getSimpleName());
    }
}
