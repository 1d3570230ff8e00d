package dev.catnap.gateway;

import java.time.Duration;

/** What the {@link Fleet} decided; {@link WorkerPool} carries each one out, in order. */
sealed interface FleetCommand {
    /** Launch worker {@code worker} on a free port, probe it, and report its readiness and exit. */
    record StartWorker(int worker) implements FleetCommand {}

    enum StopReason {
        IDLE,
        NOT_READY,
        SHUTDOWN
    }

    /** SIGTERM the worker, SIGKILL after {@code grace}. */
    record StopWorker(int worker, Duration grace, StopReason reason) implements FleetCommand {}

    /** Give the request a slot on the worker; it waited {@code waitedNanos} for it. */
    record Admit(long request, int worker, long waitedNanos) implements FleetCommand {}

    /** Answer the request with an error instead. */
    record Reject(long request, int status, String message, Duration retryAfter) implements FleetCommand {}

    record WorkerIsReady(int worker, long coldStartNanos) implements FleetCommand {}

    /** A start failed (launch, early exit or startup timeout); {@code breakerOpened}: starts now pause. */
    record StartFailed(int worker, String message, int failuresInARow, boolean breakerOpened) implements FleetCommand {}

    /** A ready worker exited without being asked to. */
    record WorkerCrashed(int worker, int exitCode, int inFlight) implements FleetCommand {}

    /** The worker's process is gone: drop connections to it. {@code announce}: log its exit (not done elsewhere). */
    record WorkerGone(int worker, int exitCode, boolean announce) implements FleetCommand {}
}
