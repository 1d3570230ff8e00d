package dev.catnap.gateway;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The fleet's decisions on a fake clock: no processes, no threads, no sleeping. */
class FleetTest {
    private long now = 1_000_000_000L; // any origin: System.nanoTime has none
    private final TestGateways.Settings settings =
            new TestGateways.Settings(List.of("worker", "{port}"), Path.of("unused"));
    private Fleet fleet;
    private long nextRequest = 1;

    private Fleet fleet() {
        if (fleet == null) fleet = new Fleet(settings.config(), () -> now);
        return fleet;
    }

    private List<FleetCommand> on(FleetEvent e) {
        return fleet().on(e);
    }

    private List<FleetCommand> request() {
        return on(new RequestArrived(nextRequest++, true));
    }

    private void advance(Duration d) {
        now += d.toNanos();
    }

    private static <T extends FleetCommand> List<T> only(List<FleetCommand> commands, Class<T> type) {
        return commands.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** One ready worker (id 1), 700 ms after it was launched, whose first request has just ended. */
    private void oneWarmWorker() {
        assertThat(request()).containsExactly(new StartWorker(1));
        advance(Duration.ofMillis(700));
        List<FleetCommand> ready = on(new WorkerReady(1));
        assertThat(ready)
                .containsExactly(
                        new WorkerIsReady(1, Duration.ofMillis(700).toNanos()),
                        new Admit(1, 1, Duration.ofMillis(700).toNanos()));
        on(new LeaseReleased(1, true));
    }

    @Test
    void anIdleWorkerIsStoppedExactlyWhenTheScaledownWindowHasPassedSinceItsLastRequestEnded() {
        settings.scaledown = Duration.ofSeconds(120);
        oneWarmWorker();
        advance(Duration.ofSeconds(120).minusNanos(1));
        assertThat(on(new Tick())).isEmpty();
        advance(Duration.ofNanos(1));
        assertThat(on(new Tick())).containsExactly(new StopWorker(1, settings.drain, StopReason.IDLE));
        assertThat(fleet().counts().stopping()).isEqualTo(1);
        assertThat(on(new Tick())).isEmpty(); // asked once
        assertThat(on(new WorkerExited(1, 143, ""))).containsExactly(new WorkerGone(1, 143, true));
        Fleet.Counts zero = fleet().counts();
        assertThat(zero.starting() + zero.ready() + zero.stopping()).isZero();
        assertThat(zero.workerNanos())
                .isEqualTo(Duration.ofMillis(700).plusSeconds(120).toNanos());
        assertThat(request()).containsExactly(new StartWorker(2)); // the next request wakes a new one
    }

    @Test
    void aRequestRestartsTheIdleClockButAHealthCheckDoesNot() {
        settings.scaledown = Duration.ofSeconds(10);
        oneWarmWorker();
        advance(Duration.ofSeconds(6));
        assertThat(request()).containsExactly(new Admit(2, 1, 0));
        advance(Duration.ofSeconds(2)); // a request of 2 s: idle time counts from its end
        on(new LeaseReleased(1, true));
        advance(Duration.ofSeconds(9));
        assertThat(on(new Tick())).isEmpty();
        assertThat(on(new RequestArrived(nextRequest++, false))).containsExactly(new Admit(3, 1, 0));
        on(new LeaseReleased(1, false)); // the health check leaves the idle clock alone
        advance(Duration.ofSeconds(1));
        assertThat(on(new Tick())).containsExactly(new StopWorker(1, settings.drain, StopReason.IDLE));
    }

    @Test
    void aBusyWorkerIsNotStoppedHoweverLongItsRequestRuns() {
        settings.scaledown = Duration.ofSeconds(10);
        oneWarmWorker();
        request();
        advance(Duration.ofMinutes(5));
        assertThat(on(new Tick())).isEmpty();
    }

    @Test
    void theMinimumWorkersStartAtOnceAndStayWarm() {
        settings.minWorkers = 1;
        settings.maxWorkers = 2;
        settings.scaledown = Duration.ofSeconds(1);
        assertThat(fleet().begin()).containsExactly(new StartWorker(1));
        on(new WorkerReady(1));
        advance(Duration.ofHours(1));
        assertThat(on(new Tick())).isEmpty();
        // it crashes: a replacement starts without any request
        assertThat(only(on(new WorkerExited(1, 137, "")), StartWorker.class)).containsExactly(new StartWorker(2));
    }

    @Test
    void aWorkerNeverHoldsMoreThanMaxInputsAndMoreStartUpToMaxWorkers() {
        settings.maxInputs = 2;
        settings.maxWorkers = 2;
        Map<Integer, Integer> load = new HashMap<>();
        List<FleetCommand> all = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) all.addAll(request());
        // the first waits for worker 1; the third exceeds what worker 1 will take: worker 2; then the maximum
        assertThat(all).containsExactly(new StartWorker(1), new StartWorker(2));
        advance(Duration.ofSeconds(1));
        for (FleetCommand c : on(new WorkerReady(1))) if (c instanceof Admit a) load.merge(a.worker(), 1, Integer::sum);
        assertThat(load).containsExactlyEntriesOf(Map.of(1, 2));
        for (FleetCommand c : on(new WorkerReady(2))) if (c instanceof Admit a) load.merge(a.worker(), 1, Integer::sum);
        assertThat(load).containsExactlyInAnyOrderEntriesOf(Map.of(1, 2, 2, 2));
        assertThat(fleet().counts().queued()).isEqualTo(1);
        assertThat(fleet().workers()).allSatisfy(w -> assertThat(w.inFlight()).isLessThanOrEqualTo(2));
        // a slot frees on worker 2: the fifth request, waiting since the start, takes it
        assertThat(on(new LeaseReleased(2, true)))
                .containsExactly(new Admit(5, 2, Duration.ofSeconds(1).toNanos()));
        assertThat(fleet().counts().inFlight()).isEqualTo(4);
    }

    @Test
    void aFreeSlotIsTakenOnTheBusiestWorkerSoThatOthersCanGoIdle() {
        settings.maxInputs = 3;
        settings.maxWorkers = 2;
        for (int i = 0; i < 4; i++) request(); // 4 > 3: two workers
        on(new WorkerReady(1)); // takes 3
        on(new WorkerReady(2)); // takes 1
        on(new LeaseReleased(1, true)); // worker 1 holds 2, worker 2 holds 1
        assertThat(request()).containsExactly(new Admit(5, 1, 0));
    }

    @Test
    void aFullQueueIsRejectedAtOnceAndAWaitPastTheQueueTimeoutIsRejected() {
        settings.maxInputs = 1;
        settings.maxQueue = 2;
        settings.queueTimeout = Duration.ofSeconds(7);
        assertThat(request()).containsExactly(new StartWorker(1));
        assertThat(request()).isEmpty(); // queued
        List<FleetCommand> third = request();
        assertThat(third).hasSize(1);
        Reject full = (Reject) third.getFirst();
        assertThat(full.request()).isEqualTo(3);
        assertThat(full.status()).isEqualTo(503);
        assertThat(full.message()).contains("queue is full (2 waiting)");
        assertThat(full.retryAfter()).isEqualTo(Duration.ofSeconds(1));

        assertThat(on(new RequestAbandoned(2)))
                .containsExactly(new Reject(2, 503, "no worker slot became free within 7 s", Duration.ofSeconds(1)));
        assertThat(on(new WorkerReady(1))).containsExactly(new WorkerIsReady(1, 0), new Admit(1, 1, 0));
        assertThat(on(new RequestAbandoned(1))).isEmpty(); // admitted meanwhile: its lease stands
        assertThat(fleet().counts().queued()).isZero();
    }

    @Test
    void failedStartsOpenTheBreakerWhichAnswersAtOnceUntilTheCooldownPasses() {
        settings.failureLimit = 2;
        settings.cooldown = Duration.ofSeconds(30);
        request();
        List<FleetCommand> first = on(new WorkerExited(1, 7, "; last stderr lines: fatal"));
        String message = "worker exited with code 7 before it was ready; last stderr lines: fatal";
        assertThat(first)
                .containsExactly(
                        new StartFailed(1, message, 1, false),
                        new Reject(1, 503, message, Duration.ofSeconds(1)),
                        new WorkerGone(1, 7, false));
        assertThat(request()).containsExactly(new StartWorker(2)); // one failure: try again
        assertThat(only(on(new WorkerExited(2, 7, "")), StartFailed.class)
                        .getFirst()
                        .breakerOpened())
                .isTrue();

        advance(Duration.ofSeconds(10));
        List<FleetCommand> open = request();
        assertThat(open).hasSize(1);
        Reject fast = (Reject) open.getFirst();
        assertThat(fast.message())
                .contains("failed to start 2 times in a row; retrying in 20 s")
                .contains("code 7");
        assertThat(fast.retryAfter()).isEqualTo(Duration.ofSeconds(20));

        advance(Duration.ofSeconds(20));
        assertThat(request()).containsExactly(new StartWorker(3)); // cooled down: one more try
        assertThat(only(on(new WorkerReady(3)), Admit.class)).hasSize(1);
        // a ready worker closes the breaker: the count starts again from zero
        on(new WorkerExited(3, 137, ""));
        request();
        assertThat(only(on(new WorkerExited(4, 7, "")), StartFailed.class))
                .containsExactly(new StartFailed(4, "worker exited with code 7 before it was ready", 1, false));
    }

    @Test
    void theBreakerAlsoHoldsBackTheMinimumWorkers() {
        settings.minWorkers = 1;
        settings.failureLimit = 1;
        settings.cooldown = Duration.ofSeconds(30);
        assertThat(fleet().begin()).containsExactly(new StartWorker(1));
        assertThat(only(on(new WorkerExited(1, 1, "")), StartWorker.class)).isEmpty();
        advance(Duration.ofSeconds(30));
        assertThat(on(new Tick())).containsExactly(new StartWorker(2));
    }

    @Test
    void aWorkerNotReadyInTimeFailsItsWaitersAndIsStoppedAndALateProbeIsIgnored() {
        settings.startupTimeout = Duration.ofSeconds(5);
        request();
        request();
        List<FleetCommand> out = on(new ReadinessTimedOut(1, ""));
        String message = "worker was not ready within the startup timeout of 5 s and was killed";
        assertThat(out)
                .containsExactly(
                        new StartFailed(1, message, 1, false),
                        new Reject(1, 503, message, Duration.ofSeconds(1)),
                        new Reject(2, 503, message, Duration.ofSeconds(1)),
                        new StopWorker(1, Duration.ofSeconds(2), StopReason.NOT_READY));
        assertThat(on(new WorkerReady(1))).isEmpty();
        assertThat(on(new WorkerExited(1, 143, ""))).containsExactly(new WorkerGone(1, 143, true));
    }

    @Test
    void aLaunchThatFailsCountsAsAFailedStart() {
        request();
        List<FleetCommand> out = on(new LaunchFailed(1, "No such file"));
        assertThat(out)
                .containsExactly(
                        new StartFailed(1, "cannot launch worker command: No such file", 1, false),
                        new Reject(1, 503, "cannot launch worker command: No such file", Duration.ofSeconds(1)));
        assertThat(fleet().workers()).isEmpty();
    }

    @Test
    void aReadyWorkerThatExitsIsACrashAndItsLeasesStillReturn() {
        oneWarmWorker();
        request();
        assertThat(on(new WorkerExited(1, 137, "")))
                .containsExactly(new WorkerCrashed(1, 137, 1), new WorkerGone(1, 137, false));
        assertThat(on(new LeaseReleased(1, true))).isEmpty();
        assertThat(fleet().counts().inFlight()).isZero();
    }

    @Test
    void shutdownTurnsAwayWaitersAndNewcomersThenStopsEveryWorker() {
        settings.maxInputs = 1;
        settings.maxWorkers = 2;
        oneWarmWorker();
        request(); // admitted on worker 1
        request(); // waits for worker 2
        assertThat(on(new Closing()))
                .containsExactly(new Reject(3, 503, "gateway is shutting down", Duration.ofSeconds(1)));
        assertThat(request()).containsExactly(new Reject(4, 503, "gateway is shutting down", Duration.ofSeconds(1)));
        assertThat(on(new Tick())).isEmpty();
        assertThat(on(new StopAll()))
                .containsExactlyInAnyOrder(
                        new StopWorker(1, settings.drain, StopReason.SHUTDOWN),
                        new StopWorker(2, settings.drain, StopReason.SHUTDOWN));
        assertThat(on(new WorkerExited(2, 143, ""))).containsExactly(new WorkerGone(2, 143, false)); // no restart
    }
}
