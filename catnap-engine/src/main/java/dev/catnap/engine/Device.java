package dev.catnap.engine;

import java.util.Locale;

/** Where a model's forward pass runs. */
public enum Device {
    /** The Vector API kernels on the JVM's own threads. */
    CPU,
    /** An NVIDIA GPU through the CUDA driver (weights and KV cache resident on the device). */
    CUDA;

    /** {@code cpu} or {@code cuda} (any case); anything else is an IllegalArgumentException naming the choices. */
    public static Device parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> CPU;
            case "cuda" -> CUDA;
            default -> throw new IllegalArgumentException("unknown device '" + name + "' (choose cpu or cuda)");
        };
    }

    /** The lower-case name used on the command line and in Tabby's health report. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
