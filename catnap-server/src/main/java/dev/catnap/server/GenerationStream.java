package dev.catnap.server;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * One generation as its request thread sees it: the only hand-over between the engine's thread and the request.
 * The engine's sink feeds it pieces, then one finish; the request thread reads them in order with
 * {@link #next(long)}. The stop rule, the client watch and the deadline all run on the reading thread, inside
 * {@code next}, so nothing here is shared but the queue and the cancel gate.
 *
 * <p>Cancellation has one path: a stop word, the client going away (polled, or {@link #cancel()} from any
 * thread) or the deadline passing cancels the engine's handle, once. The reader then sees no more pieces, only
 * the {@link End}, which comes when the engine confirms, or after {@link #CONFIRM_NANOS} without it, so that a
 * request's slot is freed only when its sequence has left the batch and never waits forever.
 *
 * <p>Tokens are counted ({@code onToken}) as the reader takes them: all the pieces the engine made, except those
 * after a stop word (which the engine used to stop before making).
 */
final class GenerationStream implements AutoCloseable {
    /** How often a reader checks whether its client is still connected. */
    static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** How long a reader waits for the engine to confirm a cancel (it does so within a decode step). */
    static final long CONFIRM_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** For {@code deadlineNanos} and {@code untilNanos}: no time limit. */
    static final long NEVER = Long.MAX_VALUE;

    /** How the read ended: the generation's own end (its outcome says which), or a cancel that the reader must answer. */
    enum Ending {
        DONE,
        TIMED_OUT,
        CLIENT_GONE
    }

    sealed interface Event {}

    /** One generated token's text as the engine gave it; {@link #text()} has the output so far, stop words cut. */
    record Piece(String text) implements Event {}

    /**
     * The last event. After a stop word the outcome is {@link TextModel.Finish#STOPPED} with the tokens up to it,
     * as if the engine had stopped there; after a cancel the engine did not confirm in time it is a
     * {@link TextModel.Finish#CANCELLED} with no counts.
     */
    record End(Ending ending, TextModel.Outcome outcome) implements Event {}

    /** Wakes a blocked reader after a cancel from another thread. */
    private static final Object WAKE = new Object();

    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final AtomicBoolean engineCancelled = new AtomicBoolean();
    private final AtomicReference<Ending> cancelledAs = new AtomicReference<>();
    private final StopCondition stop;
    private final long deadlineNanos;
    private final BooleanSupplier clientGone;
    private final Runnable onToken;
    private final long confirmNanos;
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile TextModel.Handle handle;

    // the reader's own state
    private long nextPollNanos;
    /** When the reader stops waiting for the engine to confirm a cancel; set when it first sees the cancel. */
    private long confirmByNanos;

    private boolean confirming;
    private int pieces;
    private int piecesToStop = -1;
    private End end;

    private GenerationStream(
            StopCondition stop, long deadlineNanos, BooleanSupplier clientGone, Runnable onToken, long confirmNanos) {
        this.stop = stop;
        this.deadlineNanos = deadlineNanos;
        this.clientGone = clientGone;
        this.onToken = onToken;
        this.confirmNanos = confirmNanos;
        this.nextPollNanos = System.nanoTime() + POLL_NANOS;
    }

    /**
     * Starts the generation.
     *
     * @param deadlineNanos {@link System#nanoTime()} after which an unfinished generation is cancelled and the read
     *                      ends {@link Ending#TIMED_OUT}, or {@link #NEVER}
     * @param clientGone    polled every {@link #POLL_NANOS} while the reader waits; null: never polled
     * @param onToken       run on the reading thread for each token counted
     */
    static GenerationStream start(
            TextModel model,
            TextModel.Request request,
            StopCondition stop,
            long deadlineNanos,
            BooleanSupplier clientGone,
            Runnable onToken) {
        return start(model, request, stop, deadlineNanos, clientGone, onToken, CONFIRM_NANOS);
    }

    static GenerationStream start(
            TextModel model,
            TextModel.Request request,
            StopCondition stop,
            long deadlineNanos,
            BooleanSupplier clientGone,
            Runnable onToken,
            long confirmNanos) {
        var stream = new GenerationStream(stop, deadlineNanos, clientGone, onToken, confirmNanos);
        stream.handle = model.generate(request, stream.new Feed());
        return stream;
    }

    /** The engine's side: runs on the engine's thread. */
    private final class Feed implements TextModel.Sink {
        @Override
        public boolean accept(String piece) {
            events.add(piece);
            return !engineCancelled.get();
        }

        @Override
        public void finished(TextModel.Outcome outcome) {
            if (finished.compareAndSet(false, true)) events.add(outcome); // the contract says once: never a second End
        }
    }

    /**
     * The next event: a {@link Piece}, or the {@link End} (again on every later call). Null when {@code untilNanos}
     * ({@link System#nanoTime()}, or {@link #NEVER}) passes first; the deadline and the client watch are checked
     * meanwhile. Reading thread only.
     */
    Event next(long untilNanos) throws InterruptedException {
        if (end != null) return end;
        while (true) {
            long now = System.nanoTime();
            watch(now);
            if (!confirming && engineCancelled.get()) {
                confirming = true;
                confirmByNanos = now + confirmNanos;
            }
            long wakeAt = untilNanos;
            if (!finished.get() && cancelledAs.get() == null) {
                if (clientGone != null) wakeAt = earlier(wakeAt, nextPollNanos);
                wakeAt = earlier(wakeAt, deadlineNanos);
            }
            if (confirming) wakeAt = earlier(wakeAt, confirmByNanos);
            Object event;
            try {
                event = wakeAt == NEVER ? events.take() : events.poll(Math.max(0, wakeAt - now), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                cancelEngine();
                throw e;
            }
            if (event == null) {
                now = System.nanoTime();
                if (confirming && !finished.get() && now - confirmByNanos >= 0) {
                    return end = new End(
                            ending(),
                            piecesToStop >= 0
                                    ? stopped(0)
                                    : new TextModel.Outcome(TextModel.Finish.CANCELLED, 0, 0, null));
                }
                if (untilNanos != NEVER && now - untilNanos >= 0) return null;
                continue;
            }
            if (event == WAKE) continue;
            if (event instanceof TextModel.Outcome outcome) {
                return end = new End(ending(), piecesToStop < 0 ? outcome : stopped(outcome.promptTokens()));
            }
            String piece = (String) event;
            if (piecesToStop >= 0) continue; // past the stop word: the engine would not have made it
            pieces++;
            onToken.run();
            if (cancelledAs.get() != null) continue; // the reader answers the cancel, not the text
            if (!stop.append(piece)) {
                piecesToStop = pieces;
                cancelEngine();
            }
            return new Piece(piece);
        }
    }

    /** Reads every remaining event and returns the {@link End}. Reading thread only. */
    End awaitEnd() throws InterruptedException {
        while (true) {
            if (next(NEVER) instanceof End e) return e;
        }
    }

    /** The output so far, cut at the stop word once one matched. Reading thread only. */
    String text() {
        return stop.text();
    }

    /** Whether a stop word has matched (the text is final). Reading thread only. */
    boolean stopped() {
        return stop.stopped();
    }

    /** The client is gone: the generation is cancelled and the read ends {@link Ending#CLIENT_GONE}. Any thread; idempotent. */
    void cancel() {
        cancel(Ending.CLIENT_GONE);
    }

    /** Cancels a generation the reader leaves before its end; nothing once it has ended. */
    @Override
    public void close() {
        if (end == null) cancelEngine();
    }

    private void watch(long now) {
        if (finished.get() || cancelledAs.get() != null) return;
        boolean late = deadlineNanos != NEVER && now - deadlineNanos >= 0;
        if (clientGone != null && (late || now - nextPollNanos >= 0)) {
            nextPollNanos = now + POLL_NANOS;
            if (clientGone.getAsBoolean()) {
                cancel(Ending.CLIENT_GONE);
                return;
            }
        }
        if (late) cancel(Ending.TIMED_OUT);
    }

    private void cancel(Ending why) {
        if (cancelledAs.compareAndSet(null, why)) {
            cancelEngine();
            events.add(WAKE);
        }
    }

    private void cancelEngine() {
        if (engineCancelled.compareAndSet(false, true) && !finished.get()) handle.cancel();
    }

    /** The outcome of a generation a stop word ended: as if the engine had stopped at it. */
    private TextModel.Outcome stopped(int promptTokens) {
        return new TextModel.Outcome(TextModel.Finish.STOPPED, promptTokens, piecesToStop, null);
    }

    private Ending ending() {
        Ending why = cancelledAs.get();
        return why == null ? Ending.DONE : why;
    }

    private static long earlier(long a, long b) {
        if (a == NEVER) return b;
        if (b == NEVER) return a;
        return a - b <= 0 ? a : b;
    }
}
