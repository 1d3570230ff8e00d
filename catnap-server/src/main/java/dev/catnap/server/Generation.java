package dev.catnap.server;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/** Runs one generation to its end for a waiting request thread, cancelling it on deadline or client disconnect. */
final class Generation {
    /** How often a waiting request checks whether its client is still connected. */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long CONFIRM_NANOS = TimeUnit.SECONDS.toNanos(5);

    enum Ending { DONE, TIMED_OUT, CLIENT_GONE }

    record Result(Ending ending, TextModel.Outcome outcome) {}

    private Generation() {}

    /**
     * @param onPiece called for each piece on the engine's thread; false stops the generation
     * @param deadlineNanos {@link System#nanoTime()} after which the generation is cancelled, or Long.MAX_VALUE
     */
    static Result run(TextModel model, TextModel.Request request, Predicate<String> onPiece, long deadlineNanos,
                      BooleanSupplier clientGone, Runnable onToken) throws InterruptedException {
        var done = new CompletableFuture<TextModel.Outcome>();
        TextModel.Handle handle = model.generate(request, new TextModel.Sink() {
            @Override
            public boolean accept(String piece) {
                onToken.run();
                return onPiece.test(piece);
            }

            @Override
            public void finished(TextModel.Outcome outcome) {
                done.complete(outcome);
            }
        });
        Ending ending = Ending.DONE;
        long cancelledAt = 0;
        while (true) {
            long left = deadlineNanos == Long.MAX_VALUE ? POLL_NANOS : deadlineNanos - System.nanoTime();
            try {
                return new Result(ending, done.get(Math.max(0, Math.min(left, POLL_NANOS)), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                if (ending != Ending.DONE) {
                    // Cancelled already: the engine confirms within a decode step; do not wait on it forever.
                    if (System.nanoTime() - cancelledAt > CONFIRM_NANOS) {
                        return new Result(ending, new TextModel.Outcome(TextModel.Finish.CANCELLED, 0, 0, null));
                    }
                    continue;
                }
                if (clientGone.getAsBoolean()) ending = Ending.CLIENT_GONE;
                else if (deadlineNanos != Long.MAX_VALUE && System.nanoTime() - deadlineNanos >= 0) ending = Ending.TIMED_OUT;
                if (ending != Ending.DONE) {
                    cancelledAt = System.nanoTime();
                    handle.cancel();
                }
            } catch (ExecutionException e) {
                throw new IllegalStateException("generation failed", e.getCause());
            } catch (InterruptedException e) {
                handle.cancel();
                throw e;
            }
        }
    }
}
