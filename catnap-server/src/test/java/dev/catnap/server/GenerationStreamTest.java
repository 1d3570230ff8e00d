package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.tokenizer.Prompt;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GenerationStreamTest {
    static final TextModel.Request REQUEST = new TextModel.Request(Prompt.of(new Prompt.Text("p")), 64, 0.1, 1);
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /** A model the test drives by hand: it keeps the sink, counts cancels, and confirms them when told to. */
    static final class HandModel implements TextModel {
        final boolean confirmsCancel;
        final AtomicInteger cancels = new AtomicInteger();
        final CountDownLatch cancelled = new CountDownLatch(1);
        volatile Sink sink;
        int generated;

        HandModel(boolean confirmsCancel) {
            this.confirmsCancel = confirmsCancel;
        }

        @Override
        public int maxPositions() {
            return 2048;
        }

        @Override
        public Handle generate(Request request, Sink sink) {
            this.sink = sink;
            return () -> {
                cancels.incrementAndGet();
                cancelled.countDown();
                if (confirmsCancel) sink.finished(new Outcome(Finish.CANCELLED, 7, generated, null));
            };
        }

        boolean say(String piece) {
            generated++;
            return sink.accept(piece);
        }

        void finish(Finish finish) {
            sink.finished(new Outcome(finish, 7, generated, null));
        }

        @Override
        public void close() {}
    }

    static GenerationStream start(HandModel model, StopCondition stop, long deadline, AtomicInteger tokens) {
        return GenerationStream.start(model, REQUEST, stop, deadline, null, tokens::incrementAndGet);
    }

    static long in(long nanos) {
        return System.nanoTime() + nanos;
    }

    @Test
    void piecesArriveInOrderFromAnotherThreadAndTheEndOnce() throws Exception {
        var model = new HandModel(true);
        var tokens = new AtomicInteger();
        var stream = start(model, StopCondition.openAi(List.of()), GenerationStream.NEVER, tokens);
        var engine = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 1000; i++) model.say(Integer.toString(i));
            model.finish(TextModel.Finish.LENGTH);
            model.finish(TextModel.Finish.END_OF_TEXT); // a second finish is ignored
        });
        var seen = new ArrayList<String>();
        GenerationStream.Event e;
        while ((e = stream.next(in(10 * SECOND))) instanceof GenerationStream.Piece piece) seen.add(piece.text());
        engine.join(TimeUnit.SECONDS.toMillis(10));

        assertThat(seen).hasSize(1000);
        for (int i = 0; i < 1000; i++) assertThat(seen.get(i)).isEqualTo(Integer.toString(i));
        assertThat(e).isInstanceOf(GenerationStream.End.class);
        var end = (GenerationStream.End) e;
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.DONE);
        assertThat(end.outcome().finish()).isEqualTo(TextModel.Finish.LENGTH);
        assertThat(end.outcome().generatedTokens()).isEqualTo(1000);
        assertThat(stream.next(in(SECOND))).isSameAs(end); // the End again, never a second one
        assertThat(stream.text()).startsWith("0123").endsWith("998999");
        assertThat(tokens.get()).isEqualTo(1000);
        stream.close();
        assertThat(model.cancels.get()).isZero();
    }

    @Test
    void aStopWordEndsTheTextCancelsTheEngineOnceAndCountsTokensUpToIt() throws Exception {
        var model = new HandModel(false);
        var tokens = new AtomicInteger();
        var stream =
                start(model, StopCondition.tabby(List.of("\n\n"), "def f():\n    "), GenerationStream.NEVER, tokens);
        // the engine runs ahead of the reader: all its pieces are queued before the first read
        assertThat(model.say("return 1")).isTrue();
        assertThat(model.say("\n\n")).isTrue();
        assertThat(model.say("def")).isTrue();
        assertThat(stream.next(in(SECOND))).isEqualTo(new GenerationStream.Piece("return 1"));
        assertThat(stream.stopped()).isFalse();
        assertThat(stream.next(in(SECOND))).isEqualTo(new GenerationStream.Piece("\n\n"));
        assertThat(stream.stopped()).isTrue();
        assertThat(model.cancels.get()).isEqualTo(1);
        assertThat(model.say("g")).as("the engine is told to stop").isFalse();
        model.finish(TextModel.Finish.STOPPED);

        var end = stream.awaitEnd();
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.DONE);
        assertThat(end.outcome()).isEqualTo(new TextModel.Outcome(TextModel.Finish.STOPPED, 7, 2, null));
        assertThat(stream.text()).isEqualTo("return 1");
        assertThat(tokens.get()).isEqualTo(2);
        assertThat(model.cancels.get()).isEqualTo(1);
    }

    @Test
    void cancelFromTwoThreadsReachesTheEngineOnce() throws Exception {
        var model = new HandModel(true);
        var stream = start(model, StopCondition.openAi(List.of()), GenerationStream.NEVER, new AtomicInteger());
        var go = new CountDownLatch(1);
        try (var pool = Executors.newFixedThreadPool(2)) {
            var calls = new ArrayList<Future<?>>();
            for (int i = 0; i < 2; i++) {
                calls.add(pool.submit(() -> {
                    go.await(10, TimeUnit.SECONDS);
                    stream.cancel();
                    return null;
                }));
            }
            go.countDown();
            for (var c : calls) c.get(10, TimeUnit.SECONDS);
        }
        stream.cancel();
        stream.close();
        var end = stream.awaitEnd();
        assertThat(model.cancels.get()).isEqualTo(1);
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.CLIENT_GONE);
        assertThat(end.outcome().finish()).isEqualTo(TextModel.Finish.CANCELLED);
    }

    @Test
    void aReaderBlockedInNextIsWokenByCancel() throws Exception {
        var model = new HandModel(true);
        var stream = start(model, StopCondition.openAi(List.of()), GenerationStream.NEVER, new AtomicInteger());
        model.say("a");
        try (var reader = Executors.newVirtualThreadPerTaskExecutor()) {
            var read = reader.submit(() -> {
                var first = stream.next(in(60 * SECOND));
                return List.of(first, stream.next(in(60 * SECOND)));
            });
            assertThat(model.cancelled.await(100, TimeUnit.MILLISECONDS))
                    .as("nothing cancels by itself")
                    .isFalse();
            stream.cancel();
            var events = read.get(10, TimeUnit.SECONDS);
            assertThat(events.get(0)).isEqualTo(new GenerationStream.Piece("a"));
            assertThat(events.get(1))
                    .isEqualTo(new GenerationStream.End(
                            GenerationStream.Ending.CLIENT_GONE,
                            new TextModel.Outcome(TextModel.Finish.CANCELLED, 7, 1, null)));
        }
    }

    @Test
    void aReaderStopsWaitingForAnEngineThatNeverConfirmsTheCancel() throws Exception {
        var model = new HandModel(false);
        var stream = GenerationStream.start(
                model,
                REQUEST,
                StopCondition.openAi(List.of()),
                GenerationStream.NEVER,
                null,
                () -> {},
                TimeUnit.MILLISECONDS.toNanos(20));
        model.say("late");
        try (var reader = Executors.newVirtualThreadPerTaskExecutor()) {
            var read = reader.submit(() -> {
                var first = stream.next(in(60 * SECOND));
                return List.of(
                        first, stream.next(in(60 * SECOND))); // blocks: only the cancel's wake-up shortens this wait
            });
            assertThat(model.cancelled.await(100, TimeUnit.MILLISECONDS)).isFalse();
            stream.cancel();
            var events = read.get(10, TimeUnit.SECONDS);
            assertThat(events.get(0)).isEqualTo(new GenerationStream.Piece("late"));
            assertThat(events.get(1))
                    .isEqualTo(new GenerationStream.End(
                            GenerationStream.Ending.CLIENT_GONE,
                            new TextModel.Outcome(TextModel.Finish.CANCELLED, 0, 0, null)));
        }
        assertThat(model.cancels.get()).isEqualTo(1);
    }

    @Test
    void aDeadlineEndsTheReadAsTimedOutAndCancelsOnce() throws Exception {
        var model = new HandModel(true);
        var tokens = new AtomicInteger();
        var stream = start(model, StopCondition.openAi(List.of()), in(TimeUnit.MILLISECONDS.toNanos(30)), tokens);
        model.say("x");
        var end = stream.awaitEnd(); // the piece is read, then the deadline passes with nothing more
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.TIMED_OUT);
        assertThat(end.outcome().finish()).isEqualTo(TextModel.Finish.CANCELLED);
        assertThat(model.cancels.get()).isEqualTo(1);
        assertThat(tokens.get()).isEqualTo(1);
    }

    @Test
    void aGenerationFinishedBeforeItsDeadlineIsDoneHoweverLateItIsRead() throws Exception {
        var model = new HandModel(true);
        var stream = start(
                model, StopCondition.openAi(List.of()), in(TimeUnit.MILLISECONDS.toNanos(1)), new AtomicInteger());
        model.say("x");
        model.finish(TextModel.Finish.END_OF_TEXT);
        Thread.sleep(5); // past the deadline before the first read
        var end = stream.awaitEnd();
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.DONE);
        assertThat(end.outcome().finish()).isEqualTo(TextModel.Finish.END_OF_TEXT);
        assertThat(stream.text()).isEqualTo("x");
        assertThat(model.cancels.get()).isZero();
    }

    @Test
    void theClientWatchIsPolledWhileTheReaderWaits() throws Exception {
        var model = new HandModel(true);
        var gone = new AtomicBoolean();
        var stream = GenerationStream.start(
                model, REQUEST, StopCondition.openAi(List.of()), GenerationStream.NEVER, gone::get, () -> {});
        assertThat(stream.next(in(TimeUnit.MILLISECONDS.toNanos(120))))
                .as("nothing yet")
                .isNull();
        gone.set(true);
        var end = stream.awaitEnd();
        assertThat(end.ending()).isEqualTo(GenerationStream.Ending.CLIENT_GONE);
        assertThat(model.cancels.get()).isEqualTo(1);
    }

    @Test
    void aReaderThatLeavesEarlyCancelsTheGeneration() throws Exception {
        var model = new HandModel(true);
        try (var stream = start(model, StopCondition.openAi(List.of()), GenerationStream.NEVER, new AtomicInteger())) {
            model.say("a");
            assertThat(stream.next(in(SECOND))).isEqualTo(new GenerationStream.Piece("a"));
        }
        assertThat(model.cancels.get()).isEqualTo(1);
    }
}
