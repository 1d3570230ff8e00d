package dev.catnap.gateway;

import java.time.Duration;

/** Wakes a few times per scale-down window and asks the pool to stop the workers that stayed idle through it. */
final class IdleReaper implements AutoCloseable {
    private final WorkerPool pool;
    private final Duration tick;
    private Thread thread;

    IdleReaper(WorkerPool pool, Duration scaledownWindow) {
        this.pool = pool;
        // a worker is stopped at most a tick late: a tenth of the window, between 50 ms and 1 s
        this.tick = Duration.ofMillis(Math.clamp(scaledownWindow.toMillis() / 10, 50, 1000));
    }

    void start() {
        thread = Thread.ofVirtual().name("idle-reaper").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(tick);
                } catch (InterruptedException e) {
                    return;
                }
                pool.stopIdleWorkers();
            }
        });
    }

    @Override
    public void close() {
        if (thread != null) thread.interrupt();
    }
}
