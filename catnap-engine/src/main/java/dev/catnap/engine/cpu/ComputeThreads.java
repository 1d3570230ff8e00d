package dev.catnap.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of compute threads that run one parallel loop at a time. The caller takes part in the loop. Between
 * loops the workers spin briefly (a forward pass issues loops microseconds apart), then park.
 */
final class ComputeThreads implements AutoCloseable {
    interface Body {
        /** {@code worker} is 0 for the calling thread and 1.. for the pool's threads: an index for per-thread scratch. */
        void run(int chunk, int worker);
    }

    private static final int SPIN_LIMIT = 1 << 16;

    private final Thread[] workers;
    private final AtomicInteger nextChunk = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile Body body;
    private volatile int chunks;
    private volatile long generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    ComputeThreads(int threads) {
        workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int id = i;
            workers[i] = Thread.ofPlatform()
                    .daemon()
                    .name("catnap-compute-" + (i + 1))
                    .unstarted(() -> work(id));
            workers[i].start();
        }
    }

    int threads() {
        return workers.length + 1;
    }

    /** Runs {@code body.run(c)} for every c in [0, chunks), spread over all threads; returns when all are done. */
    void run(int chunks, Body body) {
        if (chunks <= 0) return;
        if (workers.length == 0 || chunks == 1) {
            for (int c = 0; c < chunks; c++) body.run(c, 0);
            return;
        }
        this.body = body;
        this.chunks = chunks;
        nextChunk.set(0);
        failure = null;
        running.set(workers.length);
        generation = generation + 1;
        // Unpark is cheap when the worker is still spinning; it only leaves a permit behind.
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable mine = null;
        try {
            drain(body, chunks, 0);
        } catch (Throwable t) {
            mine = t;
        }
        while (running.get() != 0) Thread.onSpinWait();
        this.body = null;
        Throwable theirs = failure;
        if (mine != null) rethrow(mine);
        if (theirs != null) rethrow(theirs);
    }

    private void drain(Body body, int chunks, int worker) {
        for (int c = nextChunk.getAndIncrement(); c < chunks; c = nextChunk.getAndIncrement()) body.run(c, worker);
    }

    private void work(int id) {
        long seen = 0;
        while (true) {
            int spins = 0;
            while (generation == seen && !closed) {
                if (++spins < SPIN_LIMIT) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                    spins = 0;
                }
            }
            if (closed) return;
            seen = generation;
            try {
                drain(body, chunks, id + 1);
            } catch (Throwable t) {
                failure = t;
            } finally {
                running.decrementAndGet();
            }
        }
    }

    private static void rethrow(Throwable t) {
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
        for (Thread w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
