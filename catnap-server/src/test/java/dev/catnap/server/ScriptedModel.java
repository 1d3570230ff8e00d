package dev.catnap.server;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A real, simple {@link TextModel} for protocol tests: it "generates" a scripted continuation of the prompt
 * one piece per token on its own thread, at a set pace, honouring max tokens, sink refusals and cancel.
 */
final class ScriptedModel implements TextModel {
    private final Function<String, List<String>> script;
    private final long millisPerToken;
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger running = new AtomicInteger();
    final AtomicInteger maxRunning = new AtomicInteger();
    final AtomicInteger cancelled = new AtomicInteger();
    final CountDownLatch firstCancel = new CountDownLatch(1);

    ScriptedModel(Function<String, List<String>> script, long millisPerToken) {
        this.script = script;
        this.millisPerToken = millisPerToken;
    }

    /** Always continues with the same pieces, whatever the prompt. */
    static ScriptedModel saying(long millisPerToken, String... pieces) {
        return new ScriptedModel(p -> List.of(pieces), millisPerToken);
    }

    @Override
    public int maxPositions() {
        return 2048;
    }

    @Override
    public Handle generate(Request request, Sink sink) {
        requests.add(request);
        var stop = new AtomicBoolean();
        int now = running.incrementAndGet();
        maxRunning.accumulateAndGet(now, Math::max);
        Thread.ofVirtual().start(() -> {
            List<String> pieces = script.apply(request.prompt().text());
            int n = 0;
            Finish finish = Finish.END_OF_TEXT;
            try {
                for (String piece : pieces) {
                    if (millisPerToken > 0) Thread.sleep(millisPerToken);
                    if (stop.get()) {
                        finish = Finish.CANCELLED;
                        break;
                    }
                    if (n == request.maxNewTokens()) {
                        finish = Finish.LENGTH;
                        break;
                    }
                    n++;
                    if (!sink.accept(piece)) {
                        finish = Finish.STOPPED;
                        break;
                    }
                }
            } catch (InterruptedException e) {
                finish = Finish.CANCELLED;
            }
            running.decrementAndGet();
            sink.finished(new Outcome(finish, request.prompt().text().length(), n, null));
        });
        return () -> {
            if (stop.compareAndSet(false, true)) {
                cancelled.incrementAndGet();
                firstCancel.countDown();
            }
        };
    }

    @Override
    public void close() {}
}
