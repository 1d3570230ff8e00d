package dev.catnap.gateway;

import java.time.Instant;

/** A worker as the pool sees it. Mutable fields are guarded by the pool's lock. */
final class Worker {
    enum State { STARTING, READY, STOPPING }

    final int id;
    final WorkerProcess process;
    final Instant startedAt;
    final long startedNanos;
    State state = State.STARTING;
    int inFlight;
    /** When its last request ended (or when it became ready): the idle clock starts here. */
    long lastUsedNanos;
    Instant lastUsedAt;

    Worker(int id, WorkerProcess process, Instant startedAt, long startedNanos) {
        this.id = id;
        this.process = process;
        this.startedAt = startedAt;
        this.startedNanos = startedNanos;
    }

    int port() {
        return process.port();
    }

    @Override
    public String toString() {
        return "worker " + id + " (pid " + process.pid() + ", port " + port() + ")";
    }
}
