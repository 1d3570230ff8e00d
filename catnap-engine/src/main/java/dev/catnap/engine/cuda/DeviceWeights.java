package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGMLType;
import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.Tensors;
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
    static final String TYPE_LIST = TYPES.stream().map(GGMLType::name).collect(java.util.stream.Collectors.joining(", "));

    private final CudaContext context;
    private final Tensors tensors;
    private final Map<String, DeviceMatrix> uploaded = new HashMap<>();
    private long bytes;

    DeviceWeights(CudaContext context, GGUFFile file) {
        this.context = context;
        this.tensors = new Tensors(file, TYPES::contains, TYPE_LIST + " on CUDA");
    }

    /** A matrix of ggml shape [cols, rows]. */
    DeviceMatrix matrix(String name, int cols, int rows) {
        return upload(tensors.matrix(name, cols, rows), cols);
    }

    /** The output projection, which is the token embedding in models that tie them. */
    DeviceMatrix outputHead(int embedding, int vocab) {
        return upload(tensors.outputHead(embedding, vocab), embedding);
    }

    /** An embedding table whose rows are looked up by id. */
    DeviceMatrix table(String name, int cols, int minRows) {
        GGUFTensor t = tensors.table(name, cols, minRows);
        if (!TYPES.contains(t.type())) {
            throw new IllegalArgumentException("tensor " + name + " has type " + t.type()
                    + ", which the CUDA backend does not support yet (supported: " + TYPE_LIST + ")");
        }
        return upload(t, cols);
    }

    /** A norm weight or bias vector, as F32. */
    long vector(String name, int length) {
        return floats(tensors.vector(name, length));
    }

    /** Like {@link #vector}, or 0 (a null device pointer, which the kernels read as "none") when absent. */
    long optionalVector(String name, int length) {
        return tensors.has(name) ? vector(name, length) : 0L;
    }

    /** Bytes uploaded so far. */
    long bytes() {
        return bytes;
    }

    private DeviceMatrix upload(GGUFTensor t, int cols) {
        DeviceMatrix known = uploaded.get(t.name());
        if (known != null) return known;
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

    private long floats(float[] values) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            long pointer = context.alloc(host.byteSize());
            context.copyToDevice(pointer, host, host.byteSize());
            bytes += host.byteSize();
            return pointer;
        }
    }
}
