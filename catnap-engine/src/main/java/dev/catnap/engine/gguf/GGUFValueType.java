package dev.catnap.engine.gguf;

/** Metadata value types of the GGUF format, in the order of their numbers in the file (UINT8 = 0). */
public enum GGUFValueType {
    UINT8(1),
    INT8(1),
    UINT16(2),
    INT16(2),
    UINT32(4),
    INT32(4),
    FLOAT32(4),
    BOOL(1),
    STRING(8),
    ARRAY(12),
    UINT64(8),
    INT64(8),
    FLOAT64(8);

    /** The fewest bytes one value of this type can take in a file: bounds array counts before allocating. */
    final int minBytes;

    GGUFValueType(int minBytes) {
        this.minBytes = minBytes;
    }

    /** The number of this type in a GGUF file. */
    public int id() {
        return ordinal();
    }

    /** The type with this number, or null when the number is unknown. */
    public static GGUFValueType byId(int id) {
        GGUFValueType[] all = values();
        return id >= 0 && id < all.length ? all[id] : null;
    }
}
