package dev.catnap.gateway;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The soak's gateway, in its own process so that its threads, descriptors and memory can be read from /proc and it can
 * be sent SIGTERM: {@code SoakGatewayMain STATE_DIR TOKEN SCALEDOWN_MS MAX_WORKERS MAX_INPUTS WORKER_OPTS...}; prints
 * its port.
 */
public final class SoakGatewayMain {
    public static void main(String[] args) throws Exception {
        var s = new TestGateways.Settings(
                TestGateways.worker(java.util.Arrays.copyOfRange(args, 5, args.length)), Path.of(args[0]));
        s.scaledown = Duration.ofMillis(Long.parseLong(args[2]));
        s.maxWorkers = Integer.parseInt(args[3]);
        s.maxInputs = Integer.parseInt(args[4]);
        s.drain = Duration.ofSeconds(10);
        Gateway g = Gateway.start(s.config(), FrontDoor.open().withTokens(Tokens.of(List.of(args[1]))));
        System.out.println("PORT " + g.port());
        System.out.flush();
        var term = new java.util.concurrent.CountDownLatch(1);
        sun.misc.Signal.handle(new sun.misc.Signal("TERM"), sig -> term.countDown());
        term.await();
        g.close();
        System.exit(0);
    }
}
