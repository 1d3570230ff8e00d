package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.gguf.GGUFTensor;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.ModelConfig;
import dev.catnap.engine.model.SequenceCache;
import dev.catnap.engine.model.Transformer;
import dev.catnap.engine.model.Weights;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A decoder on the CPU: an architecture's forward pass over {@link CpuOps}, weights read in place from the mapped
 * file, activations and KV caches on the heap. Not thread-safe, like every decoder.
 */
public final class CpuDecoder implements Decoder {
    private static final Logger log = LoggerFactory.getLogger(CpuDecoder.class);
    private final Transformer<GGUFTensor, float[]> transformer;
    private final CpuOps ops;
    private final int[] widths;
    /** The pass's activation buffers, grown as steps need and kept from one step to the next. */
    private final List<float[]> buffers = new ArrayList<>();

    private CpuDecoder(Transformer<GGUFTensor, float[]> transformer, CpuOps ops) {
        this.transformer = transformer;
        this.ops = ops;
        this.widths = transformer.bufferWidths();
        for (int i = 0; i < widths.length; i++) buffers.add(new float[0]);
    }

    /** The decoder of {@code config}'s architecture over {@code file}; it owns {@code backend}, not the file. */
    public static CpuDecoder load(GGUFFile file, ModelConfig config, CpuBackend backend) {
        try {
            var ops = new CpuOps(backend);
            var weights = Weights.inPlace(file, ops.matrixTypes(), backend::prepare);
            var decoder = new CpuDecoder(config.architecture().load(config, weights), ops);
            var copied = backend.copied();
            if (copied.bytes() > 0) {
                log.info(
                        "{} MiB of weights copied into the CPU kernels' row groups in {} ms",
                        copied.bytes() >> 20,
                        copied.nanos() / 1_000_000);
            }
            return decoder;
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    @Override
    public ModelConfig config() {
        return transformer.config();
    }

    @Override
    public String description() {
        return ops.description();
    }

    @Override
    public SequenceCache newCache(int capacity) {
        ModelConfig c = config();
        return new HeapSequenceCache(c.layers(), capacity, c.kvWidth());
    }

    @Override
    public void forward(int[] tokens, int[] positions, SequenceCache[] caches, int[] logitRows, float[] logits) {
        int n = tokens.length;
        ops.bind(tokens, positions, caches, logitRows);
        for (int i = 0; i < widths.length; i++) {
            float[] b = buffers.get(i);
            int size = n * widths[i];
            if (b.length < size) buffers.set(i, new float[Math.max(size, b.length + b.length / 2)]);
        }
        transformer.forward(ops, buffers, n, logitRows.length, logits);
    }

    @Override
    public void close() {
        ops.close();
    }
}
