package dev.catnap.gateway;

import java.util.concurrent.atomic.AtomicBoolean;

/** One request's slot on one worker; closing it gives the slot back (once). */
final class Lease implements AutoCloseable {
    private final WorkerPool pool;
    final Worker worker;
    private final boolean activity;
    private final AtomicBoolean released = new AtomicBoolean();

    Lease(WorkerPool pool, Worker worker, boolean activity) {
        this.pool = pool;
        this.worker = worker;
        this.activity = activity;
    }

    int port() {
        return worker.port();
    }

    @Override
    public void close() {
        if (released.compareAndSet(false, true)) pool.release(this, activity);
    }
}
