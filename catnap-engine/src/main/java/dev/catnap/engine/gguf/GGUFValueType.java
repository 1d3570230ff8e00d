package dev.catnap.engine.gguf;

/** Metadata value types of the GGUF format, by their numbers in the file. */
enum GGUFValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1), STRING(8), ARRAY(12),
    UINT64(8), INT64(8), FLOAT64(8);

    /** The fewest bytes one value of this type can take in a file: bounds array counts before allocating. */
    final int minBytes;

    GGUFValueType(int minBytes) {
        this.minBytes = minBytes;
    }

    static GGUFValueType byId(int id) {
        GGUFValueType[] all = values();
        return id >= 0 && id < all.length ? all[id] : null;
    }
}
