package dev.catnap.gateway;

import dev.catnap.gateway.FleetCommand.Admit;
import dev.catnap.gateway.FleetCommand.Reject;
import dev.catnap.gateway.FleetCommand.StartFailed;
import dev.catnap.gateway.FleetCommand.StartWorker;
import dev.catnap.gateway.FleetCommand.StopWorker;
import dev.catnap.gateway.FleetCommand.WorkerCrashed;
import dev.catnap.gateway.FleetCommand.WorkerGone;
import dev.catnap.gateway.FleetCommand.WorkerIsReady;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The imperative shell around {@link Fleet}: turns calls, probe outcomes and process exits into fleet events, and
 * carries out the fleet's commands (launching worker processes on free ports, probing them, stopping them, handing
 * leases to waiting requests, metrics and log lines). It owns the threads and the one lock; the decisions are the
 * fleet's.
 *
 * <p>Commands run under the lock, as the old pool's actions did; stopping a process and probing one do not (they run
 * on virtual threads of their own).
 */
final class WorkerPool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("gateway");
    /** How long an exit report waits for the worker's last stderr lines to be read from the pipe. */
    private static final Duration STDERR_AFTER_EXIT = Duration.ofSeconds(1);

    private final GatewayConfig config;
    private final GatewayMetrics metrics;
    private final ReadinessProbe probe;
    private final LongSupplier nanos = System::nanoTime;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    private final Fleet fleet;
    private final Map<Integer, Worker> processes = new HashMap<>();
    private final Map<Long, Waiter> waiters = new HashMap<>();
    private long nextRequest = 1;
    private boolean closing;
    private final IdleReaper reaper;
    private final IntConsumer onWorkerGone;
    /** Process exits are reported on a thread of their own, never inside the call that launched the process. */
    private final Executor exitReports =
            r -> Thread.ofVirtual().name("worker-exit").start(r);

    private record Waiter(CompletableFuture<Lease> future, boolean activity) {}

    /** {@code onWorkerGone} is told the port of each worker that exited, to drop connections to it. */
    WorkerPool(GatewayConfig config, GatewayMetrics metrics, HttpClient http, IntConsumer onWorkerGone) {
        this.config = config;
        this.onWorkerGone = onWorkerGone;
        this.metrics = metrics;
        this.probe = new ReadinessProbe(config.readiness(), http);
        this.fleet = new Fleet(config, nanos);
        this.reaper = new IdleReaper(this, config.scaledownWindow());
        metrics.bindPool(this);
    }

    void start() {
        lock.lock();
        try {
            carryOut(fleet.begin());
        } finally {
            lock.unlock();
        }
        reaper.start();
    }

    /**
     * Waits for a slot. {@code activity} false marks requests (health checks) that must not keep a worker warm.
     *
     * @throws Rejection when the queue is full, the wait passes the queue timeout, starts keep failing, or the gateway
     *     is shutting down
     */
    Lease acquire(boolean activity) throws Rejection, InterruptedException {
        long request;
        Waiter waiter = new Waiter(new CompletableFuture<>(), activity);
        lock.lock();
        try {
            request = nextRequest++;
            waiters.put(request, waiter);
            feed(new FleetEvent.RequestArrived(request, activity));
        } finally {
            lock.unlock();
        }
        try {
            return waiter.future.get(config.queueTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            lock.lock();
            try {
                feed(new FleetEvent.RequestAbandoned(request));
            } finally {
                lock.unlock();
            }
            return joinAssigned(waiter.future); // rejected just now, or admitted just before
        } catch (InterruptedException e) {
            lock.lock();
            try {
                feed(new FleetEvent.RequestAbandoned(request));
            } finally {
                lock.unlock();
            }
            waiter.future.thenAccept(Lease::close); // a slot given meanwhile goes back
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Rejection r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }

    private static Lease joinAssigned(CompletableFuture<Lease> waiter) throws Rejection {
        try {
            return waiter.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof Rejection r) throw r;
            throw e;
        }
    }

    void release(Lease lease, boolean activity) {
        lock.lock();
        try {
            feed(new FleetEvent.LeaseReleased(lease.worker.id(), activity));
            if (fleet.inFlight() == 0) drained.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Called by the reaper: lets the fleet stop the workers idle for the whole window. */
    void stopIdleWorkers() {
        lock.lock();
        try {
            feed(new FleetEvent.Tick());
        } finally {
            lock.unlock();
        }
    }

    /** Lock held. */
    private void feed(FleetEvent event) {
        carryOut(fleet.on(event));
    }

    /** Lock held. Carries out the commands in order; the events they cause are fed back at once. */
    private void carryOut(List<FleetCommand> commands) {
        for (FleetCommand c : commands) {
            switch (c) {
                case StartWorker s -> launch(s.worker());
                case StopWorker s -> stop(s);
                case Admit a -> {
                    Waiter w = waiters.remove(a.request());
                    metrics.queueWait(a.waitedNanos());
                    w.future.complete(new Lease(this, processes.get(a.worker()), w.activity));
                }
                case Reject r ->
                    waiters.remove(r.request())
                            .future
                            .completeExceptionally(new Rejection(r.status(), r.message(), r.retryAfter()));
                case WorkerIsReady r -> {
                    metrics.coldStartSeconds(r.coldStartNanos());
                    log.info(
                            "{} ready in {} ms",
                            processes.get(r.worker()),
                            TimeUnit.NANOSECONDS.toMillis(r.coldStartNanos()));
                }
                case StartFailed f -> {
                    metrics.startFailure();
                    Worker w = processes.get(f.worker());
                    log.warn("{}: {}", w == null ? "worker" : w, f.message());
                    if (f.breakerOpened()) {
                        log.warn(
                                "{} failed starts in a row: no new start for {} s",
                                f.failuresInARow(),
                                config.failureCooldown().toSeconds());
                    }
                }
                case WorkerCrashed k -> {
                    log.warn(
                            "{} exited with code {} while serving ({} requests in flight)",
                            processes.get(k.worker()),
                            k.exitCode(),
                            k.inFlight());
                    metrics.crash();
                }
                case WorkerGone g -> {
                    Worker w = processes.remove(g.worker());
                    if (g.announce()) log.info("{} exited with code {}", w, g.exitCode());
                    w.process().closeLifeline();
                    onWorkerGone.accept(w.port());
                }
            }
        }
    }

    /** Lock held. Launches the process on a free port, and a virtual thread that probes it. */
    private void launch(int id) {
        List<String> argv;
        WorkerProcess process;
        try {
            int port = freePort();
            String p = Integer.toString(port);
            argv = config.workerCommand().stream()
                    .map(a -> a.replace("{port}", p))
                    .toList();
            process = WorkerProcess.start(argv, port);
        } catch (IOException e) {
            feed(new FleetEvent.LaunchFailed(id, e.getMessage()));
            return;
        }
        Worker w = new Worker(id, process, Instant.now());
        processes.put(id, w);
        metrics.coldStart();
        log.info("{} starting: {}", w, describe(argv));
        Thread.ofVirtual().name("worker-" + id + "-start").start(() -> awaitReady(w));
        process.onExit().thenRunAsync(() -> exited(w), exitReports);
    }

    private void awaitReady(Worker w) {
        ReadinessProbe.Outcome outcome;
        try {
            outcome = probe.await(w.process(), config.startupTimeout());
        } catch (InterruptedException e) {
            return;
        }
        FleetEvent event = switch (outcome) {
            case ReadinessProbe.Outcome.Ready() -> new FleetEvent.WorkerReady(w.id());
            case ReadinessProbe.Outcome.Exited(int code) -> null; // exited() reports it
            case ReadinessProbe.Outcome.TimedOut() -> new FleetEvent.ReadinessTimedOut(w.id(), tail(w));
        };
        if (event == null) return;
        lock.lock();
        try {
            feed(event);
        } finally {
            lock.unlock();
        }
    }

    private void exited(Worker w) {
        int code = w.process().onExit().join().exitValue();
        String tail = tail(w.process().stderrTailAfterExit(STDERR_AFTER_EXIT));
        lock.lock();
        try {
            feed(new FleetEvent.WorkerExited(w.id(), code, tail));
        } finally {
            lock.unlock();
        }
    }

    /** Lock held; the stop itself runs on its own thread. */
    private void stop(StopWorker s) {
        Worker w = processes.get(s.worker());
        switch (s.reason()) {
            case IDLE -> {
                log.info("{} idle {} s: stopping", w, config.scaledownWindow().toSeconds());
                metrics.scaleDown();
            }
            case NOT_READY, SHUTDOWN -> {}
        }
        Thread.ofVirtual()
                .name("worker-" + w.id() + "-stop")
                .start(() -> w.process().stop(s.grace()));
    }

    /** The command as run, with over-long arguments (class paths) shortened for the log. */
    private static String describe(List<String> argv) {
        StringBuilder sb = new StringBuilder();
        for (String a : argv) {
            if (a.length() > 120) a = a.substring(0, 60) + "..." + a.substring(a.length() - 40);
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(a);
        }
        return sb.toString();
    }

    private static String tail(Worker w) {
        return tail(w.process().stderrTail());
    }

    private static String tail(List<String> lines) {
        if (lines.isEmpty()) return "";
        int from = Math.max(0, lines.size() - 10);
        return "; last stderr lines: " + String.join(" | ", lines.subList(from, lines.size()));
    }

    /** Snapshot for /gateway/status. */
    List<WorkerStatus> status() {
        lock.lock();
        try {
            long now = nanos.getAsLong();
            Instant wallNow = Instant.now();
            List<WorkerStatus> out = new ArrayList<>();
            for (Fleet.WorkerView v : fleet.workers()) {
                Worker w = processes.get(v.id());
                String lastUsedAt = v.lastUsedNanos() < 0
                        ? null
                        : wallNow.minusNanos(now - v.lastUsedNanos()).toString();
                out.add(new WorkerStatus(
                        w.id(),
                        w.process().pid(),
                        w.port(),
                        v.state().name().toLowerCase(),
                        v.inFlight(),
                        w.startedAt().toString(),
                        lastUsedAt));
            }
            return out;
        } finally {
            lock.unlock();
        }
    }

    record WorkerStatus(int id, long pid, int port, String state, int inFlight, String startedAt, String lastUsedAt) {}

    record Counts(int starting, int ready, int stopping, int inFlight, int queued, double workerSeconds) {}

    Counts counts() {
        lock.lock();
        try {
            Fleet.Counts c = fleet.counts();
            return new Counts(c.starting(), c.ready(), c.stopping(), c.inFlight(), c.queued(), c.workerNanos() / 1e9);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Stops admitting, waits up to the drain timeout for in-flight requests, then stops every worker (SIGTERM, kill
     * after the drain timeout) and waits for them.
     */
    @Override
    public void close() {
        List<Worker> all = new ArrayList<>();
        lock.lock();
        try {
            if (closing) return;
            closing = true;
            feed(new FleetEvent.Closing());
            long deadline = nanos.getAsLong() + config.drainTimeout().toNanos();
            while (fleet.inFlight() > 0) {
                long left = deadline - nanos.getAsLong();
                if (left <= 0) {
                    log.warn("drain timeout: {} requests still in flight", fleet.inFlight());
                    break;
                }
                drained.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                fleet.on(new FleetEvent.StopAll()); // every command is a StopWorker: the loop below carries them out
                all.addAll(processes.values()); // those the fleet was stopping already too: shutdown waits for them
            } finally {
                lock.unlock();
            }
        }
        reaper.close();
        List<Thread> stops = new ArrayList<>();
        for (Worker w : all) {
            stops.add(Thread.ofVirtual()
                    .start(() ->
                            log.info("{} exited with code {}", w, w.process().stop(config.drainTimeout()))));
        }
        for (Thread t : stops) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
