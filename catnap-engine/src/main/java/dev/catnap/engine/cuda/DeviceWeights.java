package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.Weights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Uploads a model's tensors to the device once, as the model is built: matrices and embedding tables in their GGUF
 * encoding (the kernels decode them in registers), norm weights and biases as F32. A tensor used twice (a token
 * embedding tied to the output head) is uploaded once.
 */
final class DeviceWeights {
    /** The encodings the kernels decode. */
    static final Set<GGMLType> TYPES = EnumSet.of(GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0);

    private final CudaContext context;
    private final Map<String, DeviceMatrix> uploaded = new HashMap<>();
    private long bytes;

    DeviceWeights(CudaContext context) {
        this.context = context;
    }

    /** The model's tensors, uploaded as the architecture names them. */
    Weights<DeviceMatrix, Long> of(GGUFFile file) {
        return new Weights<>(file, "CUDA", TYPES, TYPES, this::upload, this::floats);
    }

    /** Bytes uploaded so far. */
    long bytes() {
        return bytes;
    }

    private DeviceMatrix upload(GGUFTensor t) {
        DeviceMatrix known = uploaded.get(t.name());
        if (known != null) return known;
        int cols = (int) t.dim(0);
        if (cols % 32 != 0) {
            // The kernels read rows in 32-value slices (one quantization block) with 16-byte loads.
            throw new IllegalArgumentException("tensor " + t.name() + ": row length " + cols
                    + " is not a multiple of 32, which the CUDA kernels need");
        }
        long size = t.data().byteSize();
        long pointer = context.alloc(size);
        context.copyToDevice(pointer, t.data(), size);
        bytes += size;
        var m = new DeviceMatrix(t.name(), pointer, t.type(), cols, (int) t.dim(1));
        uploaded.put(t.name(), m);
        return m;
    }

    private Long floats(float[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            long pointer = context.alloc(host.byteSize());
            context.copyToDevice(pointer, host, host.byteSize());
            bytes += host.byteSize();
            return pointer;
        }
    }
}
