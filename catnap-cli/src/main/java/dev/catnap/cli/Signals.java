package dev.catnap.cli;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Waiting for SIGTERM or SIGINT. Handling them ourselves (instead of through shutdown hooks) lets a command drain its
 * work and then exit 0, which is what process supervisors and Knative expect of a clean stop.
 */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger("catnap");

    private Signals() {}

    /** Blocks until SIGTERM or SIGINT arrives; returns its name. */
    static String awaitTermination() throws InterruptedException {
        var received = new CountDownLatch(1);
        String[] name = new String[1];
        for (String sig : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(sig), s -> {
                name[0] = "SIG" + s.getName();
                received.countDown();
            });
        }
        received.await();
        log.info("{} received: stopping", name[0]);
        return name[0];
    }
}
