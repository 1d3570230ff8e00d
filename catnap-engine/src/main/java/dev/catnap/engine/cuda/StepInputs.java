package dev.catnap.engine.cuda;

/**
 * Device addresses of one step's per-row inputs, uploaded together before the layers run: token ids, positions,
 * each row's cache address and capacity, and the rows whose logits are wanted.
 */
record StepInputs(long tokens, long positions, long capacities, long logitRows, long caches) {}
