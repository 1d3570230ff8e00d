package dev.catnap.engine;

/**
 * How a model runs: the device, compute threads (CPU), how many sequences decode together, and how much memory the
 * KV caches of all sequences may take together.
 */
public record EngineOptions(int threads, int maxSequences, long kvCacheBudgetBytes, Device device) {
    public EngineOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        if (maxSequences < 1)
            throw new IllegalArgumentException("maxSequences must be at least 1, got " + maxSequences);
        if (kvCacheBudgetBytes < 1) throw new IllegalArgumentException("kvCacheBudgetBytes must be positive");
        java.util.Objects.requireNonNull(device, "device");
    }

    /** On the CPU. */
    public EngineOptions(int threads, int maxSequences, long kvCacheBudgetBytes) {
        this(threads, maxSequences, kvCacheBudgetBytes, Device.CPU);
    }

    /** CPU, threads = physical cores, 10 sequences (Tabby's per-instance concurrency), 2 GiB of KV cache. */
    public static EngineOptions defaults() {
        return new EngineOptions(physicalCores(), 10, 2L << 30, Device.CPU);
    }

    public EngineOptions withThreads(int threads) {
        return new EngineOptions(threads, maxSequences, kvCacheBudgetBytes, device);
    }

    public EngineOptions withMaxSequences(int maxSequences) {
        return new EngineOptions(threads, maxSequences, kvCacheBudgetBytes, device);
    }

    public EngineOptions withKvCacheBudget(long bytes) {
        return new EngineOptions(threads, maxSequences, bytes, device);
    }

    public EngineOptions withDevice(Device device) {
        return new EngineOptions(threads, maxSequences, kvCacheBudgetBytes, device);
    }

    /**
     * Physical cores from /proc/cpuinfo (distinct physical id + core id pairs); where that is unreadable, the
     * available processors. Hyper-threads share the core's vector units, so more threads than cores only contend.
     */
    static int physicalCores() {
        int logical = Runtime.getRuntime().availableProcessors();
        try {
            var lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"));
            var cores = new java.util.HashSet<String>();
            String physical = "0";
            for (String line : lines) {
                if (line.startsWith("physical id"))
                    physical = line.substring(line.indexOf(':') + 1).trim();
                else if (line.startsWith("core id"))
                    cores.add(physical + "/"
                            + line.substring(line.indexOf(':') + 1).trim());
            }
            return cores.isEmpty() ? logical : Math.max(1, Math.min(logical, cores.size()));
        } catch (java.io.IOException | RuntimeException e) {
            return logical;
        }
    }
}
