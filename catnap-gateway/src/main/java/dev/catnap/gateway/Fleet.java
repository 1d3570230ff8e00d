package dev.catnap.gateway;

import dev.catnap.gateway.FleetCommand.Admit;
import dev.catnap.gateway.FleetCommand.Reject;
import dev.catnap.gateway.FleetCommand.StartFailed;
import dev.catnap.gateway.FleetCommand.StartWorker;
import dev.catnap.gateway.FleetCommand.StopReason;
import dev.catnap.gateway.FleetCommand.StopWorker;
import dev.catnap.gateway.FleetCommand.WorkerCrashed;
import dev.catnap.gateway.FleetCommand.WorkerGone;
import dev.catnap.gateway.FleetCommand.WorkerIsReady;
import dev.catnap.gateway.FleetEvent.Closing;
import dev.catnap.gateway.FleetEvent.LaunchFailed;
import dev.catnap.gateway.FleetEvent.LeaseReleased;
import dev.catnap.gateway.FleetEvent.ReadinessTimedOut;
import dev.catnap.gateway.FleetEvent.RequestAbandoned;
import dev.catnap.gateway.FleetEvent.RequestArrived;
import dev.catnap.gateway.FleetEvent.StopAll;
import dev.catnap.gateway.FleetEvent.Tick;
import dev.catnap.gateway.FleetEvent.WorkerExited;
import dev.catnap.gateway.FleetEvent.WorkerReady;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The fleet's decisions, with no processes, threads or sockets: admission (a slot on a ready worker, never more than
 * {@code maxInputs} per worker, else a queue of at most {@code maxQueue}), scale-out up to {@code maxWorkers} when the
 * waiting requests exceed what starting workers will take, readiness gating, idle stop after the scale-down window
 * down to {@code minWorkers}, and the crash-loop breaker ({@code failureLimit} failed starts in a row pause starts
 * for {@code failureCooldown}). Events in, commands out; time comes only from the injected clock.
 *
 * <p>Not thread-safe: its owner, {@link WorkerPool}, calls it under one lock.
 */
final class Fleet {
    private static final Duration RETRY_SOON = Duration.ofSeconds(1);

    /** One worker's bookkeeping; its state changes only through {@link #move}. */
    private static final class Slot {
        final int id;
        final long startedNanos;
        WorkerState state = WorkerState.STARTING;
        int inFlight;
        /** When its last request ended (or when it became ready): the idle clock starts here. */
        long lastUsedNanos;

        boolean everUsed;

        Slot(int id, long startedNanos) {
            this.id = id;
            this.startedNanos = startedNanos;
        }
    }

    private record Waiting(long request, boolean activity, long sinceNanos) {}

    /** A worker as the status page shows it; {@code lastUsedNanos} is -1 until it became ready. */
    record WorkerView(int id, WorkerState state, int inFlight, long lastUsedNanos) {}

    record Counts(int starting, int ready, int stopping, int inFlight, int queued, long workerNanos) {}

    private final GatewayConfig config;
    private final LongSupplier nanos;
    private final Map<Integer, Slot> workers = new LinkedHashMap<>();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private int nextWorkerId = 1;
    private int inFlight;
    private int quickFailures;
    private long cooldownUntilNanos;
    private boolean coolingDown;
    private String lastFailure;
    private boolean closing;
    private long finishedWorkerNanos;

    /** {@code nanos}: a monotonic clock, as {@link System#nanoTime}. */
    Fleet(GatewayConfig config, LongSupplier nanos) {
        this.config = config;
        this.nanos = nanos;
    }

    List<FleetCommand> on(FleetEvent event) {
        List<FleetCommand> out = new ArrayList<>();
        switch (event) {
            case RequestArrived e -> arrived(e, out);
            case RequestAbandoned e -> {
                if (waiting.removeIf(w -> w.request() == e.request())) {
                    out.add(new Reject(
                            e.request(),
                            503,
                            "no worker slot became free within "
                                    + config.queueTimeout().toSeconds() + " s",
                            RETRY_SOON));
                }
            }
            case LeaseReleased e -> released(e, out);
            case LaunchFailed e -> launchFailed(e, out);
            case WorkerReady e -> ready(e, out);
            case ReadinessTimedOut e -> timedOut(e, out);
            case WorkerExited e -> exited(e, out);
            case Tick() -> stopIdle(out);
            case Closing() -> {
                closing = true;
                rejectAll(503, "gateway is shutting down", out);
            }
            case StopAll() -> {
                for (Slot s : workers.values()) {
                    if (s.state == WorkerState.STOPPING) continue;
                    move(s, WorkerState.STOPPING);
                    out.add(new StopWorker(s.id, config.drainTimeout(), StopReason.SHUTDOWN));
                }
            }
        }
        return out;
    }

    int inFlight() {
        return inFlight;
    }

    List<WorkerView> workers() {
        List<WorkerView> out = new ArrayList<>();
        for (Slot s : workers.values())
            out.add(new WorkerView(s.id, s.state, s.inFlight, s.everUsed ? s.lastUsedNanos : -1));
        return out;
    }

    Counts counts() {
        int starting = 0, ready = 0, stopping = 0;
        long now = nanos.getAsLong(), live = 0;
        for (Slot s : workers.values()) {
            switch (s.state) {
                case STARTING -> starting++;
                case READY -> ready++;
                case STOPPING -> stopping++;
                case STOPPED, FAILED ->
                    throw new IllegalStateException("worker " + s.id + " is " + s.state + " but still listed");
            }
            live += now - s.startedNanos;
        }
        return new Counts(starting, ready, stopping, inFlight, waiting.size(), finishedWorkerNanos + live);
    }

    private static void move(Slot s, WorkerState next) {
        s.state = s.state.to(next);
    }

    private void arrived(RequestArrived e, List<FleetCommand> out) {
        if (closing) {
            out.add(new Reject(e.request(), 503, "gateway is shutting down", RETRY_SOON));
            return;
        }
        Slot w = busiestReadyWithRoom();
        if (w != null) {
            out.add(admit(e.request(), w, 0));
            return;
        }
        long now = nanos.getAsLong();
        if (coolingDown(now) && liveWorkers() == 0) {
            Duration left = Duration.ofNanos(cooldownUntilNanos - now);
            out.add(new Reject(
                    e.request(),
                    503,
                    "worker failed to start " + quickFailures + " times in a row; retrying in "
                            + Math.max(1, left.toSeconds()) + " s. Last failure: " + lastFailure,
                    roundUp(left)));
            return;
        }
        if (waiting.size() >= config.maxQueue()) {
            out.add(new Reject(
                    e.request(),
                    503,
                    "all " + workers.size() + " workers are busy and the queue is full (" + config.maxQueue()
                            + " waiting)",
                    RETRY_SOON));
            return;
        }
        waiting.addLast(new Waiting(e.request(), e.activity(), now));
        scaleUpForWaiting(out);
    }

    private boolean coolingDown(long now) {
        return coolingDown && cooldownUntilNanos - now > 0;
    }

    private static Duration roundUp(Duration d) {
        return Duration.ofSeconds(Math.max(1, (d.toMillis() + 999) / 1000));
    }

    private Admit admit(long request, Slot w, long waitedNanos) {
        w.inFlight++;
        inFlight++;
        return new Admit(request, w.id, waitedNanos);
    }

    private void released(LeaseReleased e, List<FleetCommand> out) {
        Slot w = workers.get(e.worker());
        inFlight--;
        if (w != null) {
            w.inFlight--;
            if (e.activity()) touch(w);
        }
        dispatch(out);
    }

    private void touch(Slot w) {
        w.lastUsedNanos = nanos.getAsLong();
        w.everUsed = true;
    }

    /** Ready worker with a free slot: the busiest one, so that others can go idle and be stopped. */
    private Slot busiestReadyWithRoom() {
        Slot best = null;
        for (Slot w : workers.values()) {
            if (w.state == WorkerState.READY
                    && w.inFlight < config.maxInputs()
                    && (best == null || w.inFlight > best.inFlight)) {
                best = w;
            }
        }
        return best;
    }

    private int liveWorkers() {
        int n = 0;
        for (Slot w : workers.values()) if (w.state.live()) n++;
        return n;
    }

    /** Hands free slots to waiting requests in arrival order, then starts workers if some remain waiting. */
    private void dispatch(List<FleetCommand> out) {
        long now = nanos.getAsLong();
        while (!waiting.isEmpty()) {
            Slot w = busiestReadyWithRoom();
            if (w == null) break;
            Waiting next = waiting.pollFirst();
            out.add(admit(next.request(), w, now - next.sinceNanos()));
        }
        scaleUpForWaiting(out);
    }

    /** Starts workers while the waiting requests exceed what starting workers will take. */
    private void scaleUpForWaiting(List<FleetCommand> out) {
        if (closing || waiting.isEmpty() || coolingDown(nanos.getAsLong())) return;
        int starting = 0;
        for (Slot w : workers.values()) if (w.state == WorkerState.STARTING) starting++;
        while (waiting.size() > starting * config.maxInputs() && liveWorkers() < config.maxWorkers()) {
            start(out);
            starting++;
        }
    }

    private void ensureMinWorkers(List<FleetCommand> out) {
        while (!closing && liveWorkers() < config.minWorkers() && !coolingDown(nanos.getAsLong())) start(out);
    }

    private void start(List<FleetCommand> out) {
        Slot s = new Slot(nextWorkerId++, nanos.getAsLong());
        workers.put(s.id, s);
        out.add(new StartWorker(s.id));
    }

    /** The first start of the gateway's life: the minimum workers. */
    List<FleetCommand> begin() {
        List<FleetCommand> out = new ArrayList<>();
        ensureMinWorkers(out);
        return out;
    }

    private void launchFailed(LaunchFailed e, List<FleetCommand> out) {
        Slot s = workers.remove(e.worker());
        if (s == null) return;
        move(s, WorkerState.FAILED);
        startFailed(s, "cannot launch worker command: " + e.reason(), out);
    }

    private void ready(WorkerReady e, List<FleetCommand> out) {
        Slot s = workers.get(e.worker());
        if (s == null || s.state != WorkerState.STARTING) return; // stopped or gone while its probe ran
        move(s, WorkerState.READY);
        touch(s);
        quickFailures = 0;
        out.add(new WorkerIsReady(s.id, nanos.getAsLong() - s.startedNanos));
        dispatch(out);
    }

    private void timedOut(ReadinessTimedOut e, List<FleetCommand> out) {
        Slot s = workers.get(e.worker());
        if (s == null || s.state != WorkerState.STARTING) return;
        move(s, WorkerState.STOPPING);
        startFailed(
                s,
                "worker was not ready within the startup timeout of "
                        + config.startupTimeout().toSeconds() + " s and was killed" + e.stderrTail(),
                out);
        out.add(new StopWorker(s.id, Duration.ofSeconds(2), StopReason.NOT_READY));
    }

    private void exited(WorkerExited e, List<FleetCommand> out) {
        Slot s = workers.remove(e.worker());
        if (s == null) return;
        finishedWorkerNanos += nanos.getAsLong() - s.startedNanos;
        switch (s.state) {
            case STARTING -> {
                move(s, WorkerState.FAILED);
                startFailed(
                        s, "worker exited with code " + e.exitCode() + " before it was ready" + e.stderrTail(), out);
                out.add(new WorkerGone(s.id, e.exitCode(), false));
            }
            case READY -> {
                move(s, WorkerState.FAILED);
                out.add(new WorkerCrashed(s.id, e.exitCode(), s.inFlight));
                out.add(new WorkerGone(s.id, e.exitCode(), false));
            }
            case STOPPING -> {
                move(s, WorkerState.STOPPED);
                // on shutdown the stop itself reports the exit
                out.add(new WorkerGone(s.id, e.exitCode(), !closing));
            }
            case STOPPED, FAILED -> throw new IllegalStateException("worker " + s.id + " exited twice");
        }
        dispatch(out);
        ensureMinWorkers(out);
    }

    /** Counts a quick failure; rejects the waiting requests if nothing else can serve them. */
    private void startFailed(Slot failed, String message, List<FleetCommand> out) {
        quickFailures++;
        lastFailure = message;
        boolean opened = quickFailures >= config.failureLimit();
        if (opened) {
            coolingDown = true;
            cooldownUntilNanos = nanos.getAsLong() + config.failureCooldown().toNanos();
        }
        out.add(new StartFailed(failed.id, message, quickFailures, opened));
        boolean othersCanServe = false;
        for (Slot o : workers.values()) {
            if (o != failed && o.state.live()) othersCanServe = true;
        }
        if (!othersCanServe) rejectAll(503, message, out);
    }

    private void rejectAll(int status, String message, List<FleetCommand> out) {
        while (!waiting.isEmpty()) out.add(new Reject(waiting.pollFirst().request(), status, message, RETRY_SOON));
    }

    /** Stops ready workers idle for the whole window, keeping the minimum. */
    private void stopIdle(List<FleetCommand> out) {
        if (closing) return;
        long now = nanos.getAsLong();
        long window = config.scaledownWindow().toNanos();
        int live = liveWorkers();
        for (Iterator<Slot> it = workers.values().iterator(); it.hasNext() && live > config.minWorkers(); ) {
            Slot w = it.next();
            if (w.state == WorkerState.READY && w.inFlight == 0 && now - w.lastUsedNanos >= window) {
                move(w, WorkerState.STOPPING);
                out.add(new StopWorker(w.id, config.drainTimeout(), StopReason.IDLE));
                live--;
            }
        }
        ensureMinWorkers(out);
    }
}
