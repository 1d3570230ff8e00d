package dev.catnap.server;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admits at most {@code parallelism} generations of one model at a time (the engine batches those), lets up
 * to {@code queueLimit} more wait in arrival order, and refuses the rest with 503.
 */
final class Admission {
    private final Semaphore slots;
    private final int parallelism;
    private final int queueLimit;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();

    Admission(int parallelism, int queueLimit) {
        this.slots = new Semaphore(parallelism, true);
        this.parallelism = parallelism;
        this.queueLimit = queueLimit;
    }

    /** A held slot; closing it frees the slot for the next waiter. */
    final class Slot implements AutoCloseable {
        private boolean closed;

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            running.decrementAndGet();
            slots.release();
        }
    }

    /** Waits up to {@code timeoutNanos} for a slot; null on timeout; 503 when the queue is already full. */
    Slot enter(long timeoutNanos) throws InterruptedException {
        if (slots.tryAcquire()) {
            running.incrementAndGet();
            return new Slot();
        }
        if (waiting.incrementAndGet() > queueLimit) {
            waiting.decrementAndGet();
            throw new ApiException(
                    503,
                    "server_busy",
                    "all " + parallelism + " generation slots are busy and " + queueLimit
                            + " requests are already queued; retry later");
        }
        try {
            if (!slots.tryAcquire(Math.max(0, timeoutNanos), TimeUnit.NANOSECONDS)) return null;
            running.incrementAndGet();
            return new Slot();
        } finally {
            waiting.decrementAndGet();
        }
    }

    int waiting() {
        return waiting.get();
    }

    int running() {
        return running.get();
    }

    int parallelism() {
        return parallelism;
    }
}
