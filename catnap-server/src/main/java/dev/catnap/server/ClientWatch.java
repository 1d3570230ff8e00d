package dev.catnap.server;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Tells whether the client of a request that is still being computed has gone away, so that its generation
 * is cancelled and its batch slot freed (tabby-agent aborts a running completion when the user types on).
 *
 * <p>Jetty only notices a closed connection when it reads, and it does not read while a request is being
 * handled. So the watch itself does a non-blocking read on the connection: end-of-stream or an error means the
 * client is gone. Clients send nothing else while waiting for a response (tabby-agent's undici does not
 * pipeline); if bytes do arrive anyway, the watch stops reading and reports nothing more.
 */
final class ClientWatch {
    private ClientWatch() {}

    static BooleanSupplier of(Context ctx) {
        var gone = new AtomicBoolean();
        ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
        if (request == null) return gone::get;
        request.addFailureListener(t -> gone.set(true));
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        var unreadable = new AtomicBoolean();
        ByteBuffer scratch = BufferUtil.allocate(1);
        return () -> {
            if (gone.get()) return true;
            if (unreadable.get()) return false;
            if (!endPoint.isOpen() || endPoint.isInputShutdown()) return true;
            synchronized (scratch) {
                try {
                    BufferUtil.clear(scratch);
                    int n = endPoint.fill(scratch);
                    if (n < 0) gone.set(true);
                    else if (n > 0) unreadable.set(true);
                } catch (IOException | RuntimeException e) {
                    gone.set(true);
                }
            }
            return gone.get();
        };
    }
}
