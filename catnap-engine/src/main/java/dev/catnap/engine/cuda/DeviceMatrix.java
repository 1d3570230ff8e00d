package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGMLType;

/** A weight matrix resident on the device in its GGUF encoding: {@code rows} rows of {@code cols} values. */
record DeviceMatrix(String name, long pointer, GGMLType type, int cols, int rows) {
    long bytes() {
        return type.bytesFor((long) cols * rows);
    }
}
