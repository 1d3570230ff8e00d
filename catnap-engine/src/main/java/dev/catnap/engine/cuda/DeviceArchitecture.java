package dev.catnap.engine.cuda;

import dev.catnap.engine.model.ModelConfig;

/** A decoder architecture's forward pass as a sequence of device operations over resident weights. */
sealed interface DeviceArchitecture permits StarCoderOnDevice, LlamaOnDevice {
    ModelConfig config();

    /** Floats per batch row of each activation buffer the pass uses; buffer i is passed as {@code buffers[i]}. */
    int[] bufferWidths();

    /**
     * Enqueues the pass for {@code n} rows, ending with the logits of the {@code m} rows listed in
     * {@code in.logitRows()} written to {@code logits} ({@code m * vocab} floats).
     */
    void enqueue(DeviceOps ops, StepInputs in, long[] buffers, int n, int m, long logits);
}
