package dev.catnap.engine.cuda;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.ModelConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/** Builds a decoder that runs on CUDA device 0, with the kernels compiled into this build. */
public final class CudaDecoders {
    /** The fatbin nvcc built from src/main/cuda (SASS for sm_80 and sm_90, PTX for newer devices). */
    static final String KERNELS = "catnap-kernels.fatbin";
    /** The attention kernel keeps a head's dimensions across one warp's lanes, eight values each. */
    private static final int MAX_HEAD_DIM = 256;

    private CudaDecoders() {}

    /** Uploads the model's weights to the device; the decoder owns the CUDA context, not the file. */
    public static Decoder load(GGUFFile file, ModelConfig config, int maxSequences) {
        byte[] image = kernelImage();
        return load(file, config, Cuda.open(0), image, maxSequences);
    }

    static Decoder load(GGUFFile file, ModelConfig c, CudaContext context, byte[] image, int maxSequences) {
        try {
            if (c.headDim() > MAX_HEAD_DIM) {
                throw new IllegalArgumentException(
                        "head size " + c.headDim() + " is larger than the CUDA kernels' " + MAX_HEAD_DIM);
            }
            context.makeCurrent();
            var ops = new DeviceOps(context.loadModule(image), context.createStream());
            var weights = new DeviceWeights(context);
            var architecture = c.architecture().load(c, weights.of(file));
            return new DeviceDecoder(context, ops, architecture, weights.bytes(), maxSequences);
        } catch (RuntimeException | Error e) {
            context.close();
            throw e;
        }
    }

    /** The kernels built into this jar; absent when it was built without nvcc. */
    static byte[] kernelImage() {
        try (InputStream in = CudaDecoders.class.getResourceAsStream(KERNELS)) {
            if (in == null) {
                throw new IllegalStateException("this build of Catnap has no CUDA kernels (nvcc was not found when it "
                        + "was built); rebuild it where the CUDA toolkit is installed");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CUDA kernels from the jar", e);
        }
    }
}
