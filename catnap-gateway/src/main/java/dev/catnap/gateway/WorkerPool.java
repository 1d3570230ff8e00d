package dev.catnap.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission and scaling: gives each request a slot on a ready worker (never more than {@code maxInputs} per worker),
 * starts workers when every slot is taken (up to {@code maxWorkers}), queues the rest (up to {@code maxQueue}), and
 * stops workers idle for the scale-down window while keeping {@code minWorkers}.
 *
 * <p>One lock guards all state; nothing slow (process start/stop, probing) runs under it.
 */
final class WorkerPool implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("gateway");

    private final GatewayConfig config;
    private final GatewayMetrics metrics;
    private final ReadinessProbe probe;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private final List<Worker> workers = new ArrayList<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private int nextWorkerId = 1;
    private int inFlight;
    private int quickFailures;
    private long cooldownUntilNanos;
    private String lastFailure;
    private boolean closing;
    private long finishedWorkerNanos;
    private final IdleReaper reaper;
    private final IntConsumer onWorkerGone;

    /** {@code onWorkerGone} is told the port of each worker that exited, to drop connections to it. */
    WorkerPool(GatewayConfig config, GatewayMetrics metrics, HttpClient http, IntConsumer onWorkerGone) {
        this.config = config;
        this.onWorkerGone = onWorkerGone;
        this.metrics = metrics;
        this.probe = new ReadinessProbe(config.readiness(), http);
        this.reaper = new IdleReaper(this, config.scaledownWindow());
        metrics.bindPool(this);
    }

    void start() {
        lock.lock();
        try {
            ensureMinWorkers();
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
        Waiter waiter;
        long queuedAt = System.nanoTime();
        lock.lock();
        try {
            if (closing) throw new Rejection(503, "gateway is shutting down", Duration.ofSeconds(1));
            Worker w = leastBusyReadyWorker();
            if (w != null) {
                metrics.queueWait(0);
                return lease(w, activity);
            }
            long now = System.nanoTime();
            if (cooldownUntilNanos - now > 0 && liveWorkers() == 0) {
                Duration left = Duration.ofNanos(cooldownUntilNanos - now);
                throw new Rejection(503, "worker failed to start " + quickFailures + " times in a row; retrying in "
                        + Math.max(1, left.toSeconds()) + " s. Last failure: " + lastFailure, roundUp(left));
            }
            if (waiters.size() >= config.maxQueue()) {
                throw new Rejection(503, "all " + workers.size() + " workers are busy and the queue is full ("
                        + config.maxQueue() + " waiting)", Duration.ofSeconds(1));
            }
            waiter = new Waiter(new CompletableFuture<>(), activity);
            waiters.addLast(waiter);
            scaleUpForWaiters();
        } finally {
            lock.unlock();
        }
        try {
            Lease lease = waiter.future.get(config.queueTimeout().toNanos(), TimeUnit.NANOSECONDS);
            metrics.queueWait(System.nanoTime() - queuedAt);
            return lease;
        } catch (TimeoutException e) {
            lock.lock();
            try {
                if (waiters.remove(waiter)) {
                    throw new Rejection(503, "no worker slot became free within " + config.queueTimeout().toSeconds() + " s",
                            Duration.ofSeconds(1));
                }
            } finally {
                lock.unlock();
            }
            return joinAssigned(waiter.future);
        } catch (InterruptedException e) {
            lock.lock();
            try {
                if (!waiters.remove(waiter)) waiter.future.thenAccept(Lease::close);
            } finally {
                lock.unlock();
            }
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Rejection r) throw r;
            throw new IllegalStateException(e.getCause());
        }
    }

    private record Waiter(CompletableFuture<Lease> future, boolean activity) {}

    private static Lease joinAssigned(CompletableFuture<Lease> waiter) throws Rejection {
        try {
            return waiter.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof Rejection r) throw r;
            throw e;
        }
    }

    private static Duration roundUp(Duration d) {
        return Duration.ofSeconds(Math.max(1, (d.toMillis() + 999) / 1000));
    }

    private Lease lease(Worker w, boolean activity) {
        w.inFlight++;
        inFlight++;
        return new Lease(this, w, activity);
    }

    void release(Lease lease, boolean activity) {
        lock.lock();
        try {
            Worker w = lease.worker;
            w.inFlight--;
            inFlight--;
            if (activity) {
                w.lastUsedNanos = System.nanoTime();
                w.lastUsedAt = Instant.now();
            }
            if (inFlight == 0) idle.signalAll();
            dispatch();
        } finally {
            lock.unlock();
        }
    }

    /** Ready worker with a free slot: the busiest one, so that others can go idle and be stopped. */
    private Worker leastBusyReadyWorker() {
        Worker best = null;
        for (Worker w : workers) {
            if (w.state == Worker.State.READY && w.inFlight < config.maxInputs() && (best == null || w.inFlight > best.inFlight)) {
                best = w;
            }
        }
        return best;
    }

    private int liveWorkers() {
        int n = 0;
        for (Worker w : workers) if (w.state != Worker.State.STOPPING) n++;
        return n;
    }

    /** Hands free slots to waiters in arrival order, then starts workers if waiters remain. Lock held. */
    private void dispatch() {
        while (!waiters.isEmpty()) {
            Worker w = leastBusyReadyWorker();
            if (w == null) break;
            Waiter waiter = waiters.pollFirst();
            if (!waiter.future.complete(lease(w, waiter.activity))) {
                w.inFlight--;
                inFlight--;
            }
        }
        scaleUpForWaiters();
    }

    /** Starts workers while the waiting requests exceed what starting workers will take. Lock held. */
    private void scaleUpForWaiters() {
        if (closing || waiters.isEmpty()) return;
        if (cooldownUntilNanos - System.nanoTime() > 0) return;
        int starting = 0;
        for (Worker w : workers) if (w.state == Worker.State.STARTING) starting++;
        while (waiters.size() > starting * config.maxInputs() && liveWorkers() < config.maxWorkers()) {
            if (!startWorker()) return;
            starting++;
        }
    }

    private void ensureMinWorkers() {
        while (!closing && liveWorkers() < config.minWorkers() && cooldownUntilNanos - System.nanoTime() <= 0) {
            if (!startWorker()) return;
        }
    }

    /** Lock held. Launches the process and a virtual thread that probes it; false if it could not be launched. */
    private boolean startWorker() {
        int port;
        List<String> argv;
        WorkerProcess process;
        try {
            port = freePort();
            String p = Integer.toString(port);
            argv = config.workerCommand().stream().map(a -> a.replace("{port}", p)).toList();
            process = WorkerProcess.start(argv, port);
        } catch (IOException e) {
            startFailed(null, "cannot launch worker command: " + e.getMessage());
            return false;
        }
        Worker w = new Worker(nextWorkerId++, process, Instant.now(), System.nanoTime());
        workers.add(w);
        metrics.coldStart();
        log.info("{} starting: {}", w, describe(argv));
        Thread.ofVirtual().name("worker-" + w.id + "-start").start(() -> awaitReady(w));
        process.onExit().thenRun(() -> exited(w));
        return true;
    }

    private void awaitReady(Worker w) {
        ReadinessProbe.Outcome outcome;
        try {
            outcome = probe.await(w.process, config.startupTimeout());
        } catch (InterruptedException e) {
            return;
        }
        long tookNanos = System.nanoTime() - w.startedNanos;
        switch (outcome) {
            case ReadinessProbe.Outcome.Ready() -> {
                lock.lock();
                try {
                    if (w.state != Worker.State.STARTING) return;
                    w.state = Worker.State.READY;
                    w.lastUsedNanos = System.nanoTime();
                    w.lastUsedAt = Instant.now();
                    quickFailures = 0;
                    metrics.coldStartSeconds(tookNanos);
                    log.info("{} ready in {} ms", w, TimeUnit.NANOSECONDS.toMillis(tookNanos));
                    dispatch();
                } finally {
                    lock.unlock();
                }
            }
            case ReadinessProbe.Outcome.Exited(int code) -> { } // exited() reports it
            case ReadinessProbe.Outcome.TimedOut() -> {
                lock.lock();
                try {
                    if (w.state != Worker.State.STARTING) return;
                    w.state = Worker.State.STOPPING;
                    startFailed(w, "worker was not ready within the startup timeout of "
                            + config.startupTimeout().toSeconds() + " s and was killed" + tail(w));
                } finally {
                    lock.unlock();
                }
                stopAsync(w, Duration.ofSeconds(2));
            }
        }
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
        List<String> lines = w.process.stderrTail();
        if (lines.isEmpty()) return "";
        int from = Math.max(0, lines.size() - 10);
        return "; last stderr lines: " + String.join(" | ", lines.subList(from, lines.size()));
    }

    /** Process exit, for any reason. */
    private void exited(Worker w) {
        int code = w.process.onExit().join().exitValue();
        lock.lock();
        try {
            Worker.State was = w.state;
            workers.remove(w);
            finishedWorkerNanos += System.nanoTime() - w.startedNanos;
            switch (was) {
                case STARTING -> {
                    w.state = Worker.State.STOPPING;
                    startFailed(w, "worker exited with code " + code + " before it was ready" + tail(w));
                }
                case READY -> {
                    log.warn("{} exited with code {} while serving ({} requests in flight)", w, code, w.inFlight);
                    metrics.crash();
                }
                case STOPPING -> {
                    if (!closing) log.info("{} exited with code {}", w, code); // on close, close() says it
                }
            }
            w.process.closeLifeline();
            onWorkerGone.accept(w.port());
            dispatch();
            ensureMinWorkers();
        } finally {
            lock.unlock();
        }
    }

    /** Lock held. Counts a quick failure; rejects the waiters if nothing else can serve them. */
    private void startFailed(Worker w, String message) {
        quickFailures++;
        lastFailure = message;
        metrics.startFailure();
        log.warn("{}: {}", w == null ? "worker" : w, message);
        if (quickFailures >= config.failureLimit()) {
            cooldownUntilNanos = System.nanoTime() + config.failureCooldown().toNanos();
            log.warn("{} failed starts in a row: no new start for {} s", quickFailures, config.failureCooldown().toSeconds());
        }
        boolean othersCanServe = false;
        for (Worker o : workers) {
            if (o != w && o.state != Worker.State.STOPPING) othersCanServe = true;
        }
        if (!othersCanServe) {
            Rejection r = new Rejection(503, message, Duration.ofSeconds(1));
            while (!waiters.isEmpty()) waiters.pollFirst().future.completeExceptionally(r);
        }
    }

    /** Called by the reaper: stops ready workers idle for the whole window, keeping the minimum. */
    void stopIdleWorkers() {
        List<Worker> toStop = new ArrayList<>();
        lock.lock();
        try {
            if (closing) return;
            long now = System.nanoTime();
            int live = liveWorkers();
            for (Worker w : workers) {
                if (live <= config.minWorkers()) break;
                if (w.state == Worker.State.READY && w.inFlight == 0
                        && now - w.lastUsedNanos >= config.scaledownWindow().toNanos()) {
                    w.state = Worker.State.STOPPING;
                    toStop.add(w);
                    live--;
                }
            }
            ensureMinWorkers();
        } finally {
            lock.unlock();
        }
        for (Worker w : toStop) {
            log.info("{} idle {} s: stopping", w, config.scaledownWindow().toSeconds());
            metrics.scaleDown();
            stopAsync(w, config.drainTimeout());
        }
    }

    private void stopAsync(Worker w, Duration grace) {
        Thread.ofVirtual().name("worker-" + w.id + "-stop").start(() -> w.process.stop(grace));
    }

    /** Snapshot for /gateway/status. */
    List<WorkerStatus> status() {
        lock.lock();
        try {
            List<WorkerStatus> out = new ArrayList<>();
            for (Worker w : workers) {
                out.add(new WorkerStatus(w.id, w.process.pid(), w.port(), w.state.name().toLowerCase(), w.inFlight,
                        w.startedAt.toString(), w.lastUsedAt == null ? null : w.lastUsedAt.toString()));
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
            int s = 0, r = 0, t = 0;
            long live = 0, now = System.nanoTime();
            for (Worker w : workers) {
                switch (w.state) {
                    case STARTING -> s++;
                    case READY -> r++;
                    case STOPPING -> t++;
                }
                live += now - w.startedNanos;
            }
            return new Counts(s, r, t, inFlight, waiters.size(), (finishedWorkerNanos + live) / 1e9);
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
        List<Worker> all;
        lock.lock();
        try {
            if (closing) return;
            closing = true;
            Rejection r = new Rejection(503, "gateway is shutting down", Duration.ofSeconds(1));
            while (!waiters.isEmpty()) waiters.pollFirst().future.completeExceptionally(r);
            long deadline = System.nanoTime() + config.drainTimeout().toNanos();
            while (inFlight > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.warn("drain timeout: {} requests still in flight", inFlight);
                    break;
                }
                idle.awaitNanos(left);
            }
            all = new ArrayList<>(workers);
            for (Worker w : all) w.state = Worker.State.STOPPING;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            all = new ArrayList<>(workers);
        } finally {
            lock.unlock();
        }
        reaper.close();
        List<Thread> stops = new ArrayList<>();
        for (Worker w : all) {
            stops.add(Thread.ofVirtual().start(() -> log.info("{} exited with code {}", w, w.process.stop(config.drainTimeout()))));
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
