package dev.catnap.gateway;

/** What happened, as the {@link Fleet} is told it. Requests and workers are named by ids the fleet handed out. */
sealed interface FleetEvent {
    /** A request wants a slot; {@code activity} false (health checks) must not keep a worker warm. */
    record RequestArrived(long request, boolean activity) implements FleetEvent {}

    /**
     * The request gave up (queue timeout, interrupted caller). If it was still waiting it is rejected; if it was
     * admitted meanwhile, its lease stands and the caller uses or closes it.
     */
    record RequestAbandoned(long request) implements FleetEvent {}

    record LeaseReleased(int worker, boolean activity) implements FleetEvent {}

    /** The worker command could not even be launched. */
    record LaunchFailed(int worker, String reason) implements FleetEvent {}

    record WorkerReady(int worker) implements FleetEvent {}

    /** The startup timeout passed without readiness; {@code stderrTail} is what the worker said, for the message. */
    record ReadinessTimedOut(int worker, String stderrTail) implements FleetEvent {}

    /** The process exited, for any reason. */
    record WorkerExited(int worker, int exitCode, String stderrTail) implements FleetEvent {}

    /** Time passed: workers idle through the scale-down window may be stopped. */
    record Tick() implements FleetEvent {}

    /** Shutdown begins: nothing more is admitted and every waiting request is turned away. */
    record Closing() implements FleetEvent {}

    /** Shutdown, once in-flight requests are done (or the drain timeout passed): stop every worker. */
    record StopAll() implements FleetEvent {}
}
