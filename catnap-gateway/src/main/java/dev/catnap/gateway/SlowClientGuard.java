package dev.catnap.gateway;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts off clients that send a request head, or a body the gateway reads whole, slower than {@code headTimeout}
 * allows.
 *
 * <p>Why not Jetty's idle timeout alone: it restarts with every byte, so a client that trickles a byte a second keeps
 * its connection (and, for a body, whatever the request holds) for as long as it likes. Jetty has no deadline for a
 * request head; this watches each connection's parser twice a second and closes a connection whose current request
 * head has been arriving for longer than the timeout.
 */
final class SlowClientGuard implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("gateway");

    private volatile AbstractConnector connector;
    private final long headTimeoutNanos;
    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(
            1, Thread.ofPlatform().daemon().name("slow-client-guard").factory());
    /** Connection -> (messages it had received, when its current head was first seen incomplete). */
    private final Map<Connection, PartialHead> partial = new ConcurrentHashMap<>();

    private record PartialHead(long messagesIn, long sinceNanos) {}

    SlowClientGuard(Duration headTimeout) {
        this.headTimeoutNanos = headTimeout.toNanos();
        timer.setRemoveOnCancelPolicy(true); // a deadline per request body: cancelled ones must not pile up
    }

    /** Starts watching the connections of {@code c} (once the server is started). */
    void watch(AbstractConnector c) {
        this.connector = c;
        long period =
                Math.max(50, Math.min(500, Duration.ofNanos(headTimeoutNanos).toMillis() / 4));
        timer.scheduleWithFixedDelay(this::sweep, period, period, TimeUnit.MILLISECONDS);
    }

    private void sweep() {
        try {
            long now = System.nanoTime();
            for (EndPoint ep : connector.getConnectedEndPoints()) {
                if (!(ep.getConnection() instanceof HttpConnection c)) continue;
                var parser = c.getParser();
                boolean arriving = parser.inHeaderState() && !parser.isStart() && !parser.isClosed();
                if (!arriving) {
                    partial.remove(c);
                    continue;
                }
                long messages = c.getMessagesIn();
                PartialHead p = partial.compute(
                        c,
                        (k, old) -> old != null && old.messagesIn == messages ? old : new PartialHead(messages, now));
                if (now - p.sinceNanos >= headTimeoutNanos) {
                    partial.remove(c);
                    log.info(
                            "closing connection from {}: request head still incomplete after {} s",
                            ep.getRemoteSocketAddress(),
                            Duration.ofNanos(headTimeoutNanos).toSeconds());
                    ep.close();
                }
            }
            partial.keySet().removeIf(c -> !c.getEndPoint().isOpen());
        } catch (RuntimeException e) {
            log.warn("slow-client sweep failed: {}", e.toString());
        }
    }

    /**
     * Closes the connection of the request being read if it is still reading when {@code timeout} has passed; cancel
     * the returned handle once the read is done.
     */
    ScheduledFuture<?> deadline(EndPoint endPoint, Duration timeout, String what) {
        return timer.schedule(
                () -> {
                    if (!endPoint.isOpen()) return;
                    log.info(
                            "closing connection from {}: {} not complete after {} s",
                            endPoint.getRemoteSocketAddress(),
                            what,
                            timeout.toSeconds());
                    endPoint.close();
                },
                timeout.toNanos(),
                TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
