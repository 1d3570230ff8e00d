package dev.catnap.gateway;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where a worker is in its life, and the only moves between states the gateway makes. A move the table does not
 * list is a bug in the fleet's bookkeeping, so {@link #to} refuses it loudly rather than letting counts drift.
 *
 * <pre>
 * STARTING -> READY     probe passed
 * STARTING -> STOPPING  not ready within the startup timeout, or the gateway shuts down
 * STARTING -> FAILED    could not be launched, or exited before it was ready
 * READY    -> STOPPING  idle through the scale-down window, or the gateway shuts down
 * READY    -> FAILED    exited without being asked to (a crash)
 * STOPPING -> STOPPED   exited after being asked to
 * </pre>
 */
enum WorkerState {
    STARTING,
    READY,
    STOPPING,
    STOPPED,
    FAILED;

    Set<WorkerState> next() {
        return switch (this) {
            case STARTING -> EnumSet.of(READY, STOPPING, FAILED);
            case READY -> EnumSet.of(STOPPING, FAILED);
            case STOPPING -> EnumSet.of(STOPPED);
            case STOPPED, FAILED -> EnumSet.noneOf(WorkerState.class);
        };
    }

    /** {@code next}, if the table allows moving there from here. */
    WorkerState to(WorkerState next) {
        if (!next().contains(next)) throw new IllegalStateException("worker cannot go from " + this + " to " + next);
        return next;
    }

    /** Still holding a process the fleet counts against its limits (stopping ones are on their way out). */
    boolean live() {
        return this == STARTING || this == READY;
    }
}
