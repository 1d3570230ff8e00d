package dev.catnap.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/** A gateway in its own process for the signal tests (stops as `catnap gateway` does on SIGTERM): {@code TestGatewayMain STATE_DIR WORKER_OPTS...}; prints its port. */
public final class TestGatewayMain {
    public static void main(String[] args) throws Exception {
        var s = new TestGateways.Settings(
                TestGateways.worker(Arrays.copyOfRange(args, 1, args.length)), Path.of(args[0]));
        s.drain = Duration.ofSeconds(5);
        Gateway g = Gateway.start(s.config());
        System.out.println("PORT " + g.port());
        System.out.flush();
        var term = new java.util.concurrent.CountDownLatch(1);
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> term.countDown());
        term.await();
        g.close();
        System.exit(0);
    }
}
