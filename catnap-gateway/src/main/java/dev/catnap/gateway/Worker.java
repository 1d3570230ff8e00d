package dev.catnap.gateway;

import java.time.Instant;

/** A worker's process as the pool holds it; its state and load are the {@link Fleet}'s. */
record Worker(int id, WorkerProcess process, Instant startedAt) {
    int port() {
        return process.port();
    }

    @Override
    public String toString() {
        return "worker " + id + " (pid " + process.pid() + ", port " + port() + ")";
    }
}
