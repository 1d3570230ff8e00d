package dev.catnap.cli;

import dev.catnap.engine.Device;
import dev.catnap.engine.cuda.Cuda;
import dev.catnap.engine.cuda.CudaDevice;
import dev.catnap.engine.cuda.CudaProbe;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --device cpu|cuda}, shared by the commands that run language models (serve, generate, bench). Embedding
 * models have no CUDA path, so {@code embed} has no such flag.
 */
final class DeviceOption {
    @Option(
            names = "--device",
            defaultValue = "cpu",
            paramLabel = "cpu|cuda",
            converter = Converter.class,
            description = "Where language models run: cpu (default) or cuda (an NVIDIA GPU through its driver; "
                    + "needs a build that found nvcc).")
    Device device;

    /**
     * For cuda, the GPUs the driver reports, asked before any model is read so that a machine without one fails in
     * milliseconds with the driver's reason; empty for cpu.
     */
    List<CudaDevice> gpus() {
        if (device != Device.CUDA) return List.of();
        CudaProbe probe = Cuda.probe();
        if (!probe.available()) throw new UserError("--device cuda: " + oneLine(probe.unavailableReason()));
        return probe.devices();
    }

    /**
     * A model that could not be put on the GPU (no kernels in this build, driver or out-of-memory errors): the
     * engine's message as one line, naming the flag that asked for the GPU. On the CPU the same exceptions are
     * bugs, not input errors, so they are returned as they are.
     */
    static RuntimeException loadFailure(Device device, RuntimeException e) {
        if (device == Device.CPU) return e;
        var error = new UserError(
                "--device " + device.label() + ": " + oneLine(e.getMessage() == null ? e.toString() : e.getMessage()),
                1);
        error.initCause(e); // printed with -Dcatnap.debug=true
        return error;
    }

    static String oneLine(String message) {
        if (message == null || message.isBlank()) return "no reason given";
        return message.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    /** Device.parse's message (which names the choices) instead of picocli's generic conversion error. */
    static final class Converter implements CommandLine.ITypeConverter<Device> {
        @Override
        public Device convert(String text) {
            try {
                return Device.parse(text);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
