package dev.catnap.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The serverless front: answers on one port, starts workers on demand, proxies to them, and stops them when idle.
 * Knows nothing of models; a worker is any command that listens on the port it is given.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger("gateway");
    private static final List<HandlerType> PROXIED_METHODS = List.of(HandlerType.GET, HandlerType.POST,
            HandlerType.PUT, HandlerType.PATCH, HandlerType.DELETE, HandlerType.HEAD, HandlerType.OPTIONS);

    private final GatewayConfig config;
    private final HttpClient http;
    private final UpstreamClient upstream = new UpstreamClient();
    private final GatewayMetrics metrics = new GatewayMetrics();
    private final WorkerPool pool;
    private final ReverseProxy proxy;
    private final StatusPage statusPage;
    private final ObjectMapper json = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private final Javalin app;
    private boolean closed;

    private Gateway(GatewayConfig config) {
        this.config = config;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        this.pool = new WorkerPool(config, metrics, http, upstream::evict);
        this.proxy = new ReverseProxy(upstream, pool, new HealthCache(config.stateDir()), metrics);
        this.statusPage = new StatusPage(config, pool, metrics);
        this.app = Javalin.create(cfg -> {
            cfg.concurrency.useVirtualThreads = true;
            cfg.http.compressionStrategy = CompressionStrategy.NONE;
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.router.ignoreTrailingSlashes = false;
            cfg.routes.get("/metrics", this::metrics);
            cfg.routes.get("/gateway/status", this::status);
            cfg.routes.get("/", statusPage::handle); // the operator's page; a worker's own root is not proxied
            for (HandlerType method : PROXIED_METHODS) {
                if (method != HandlerType.GET) cfg.routes.addHttpHandler(method, "/", this::proxy);
                cfg.routes.addHttpHandler(method, "/<path>", this::proxy);
            }
            cfg.routes.exception(ReverseProxy.UpstreamBrokeOff.class, (e, ctx) -> abortConnection(ctx));
        });
    }

    /** Starts listening (and the minimum workers). */
    public static Gateway start(GatewayConfig config) {
        Gateway g = new Gateway(config);
        g.app.start(config.host(), config.port());
        g.pool.start();
        log.info("gateway listening on http://{}:{} (max {} workers, {} requests each, idle stop after {} s)",
                config.host(), g.port(), config.maxWorkers(), config.maxInputs(), config.scaledownWindow().toSeconds());
        return g;
    }

    public int port() {
        return app.port();
    }

    private void proxy(Context ctx) throws Exception {
        proxy.handle(ctx.req(), ctx.res());
    }

    private void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape());
    }

    private void status(Context ctx) throws Exception {
        WorkerPool.Counts c = pool.counts();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("workers", pool.status());
        body.put("in_flight", c.inFlight());
        body.put("queued", c.queued());
        body.put("worker_seconds", c.workerSeconds());
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("max_inputs", config.maxInputs());
        cfg.put("min_workers", config.minWorkers());
        cfg.put("max_workers", config.maxWorkers());
        cfg.put("max_queue", config.maxQueue());
        cfg.put("scaledown_window_seconds", config.scaledownWindow().toMillis() / 1000.0);
        cfg.put("startup_timeout_seconds", config.startupTimeout().toMillis() / 1000.0);
        cfg.put("readiness", config.readiness().toString());
        body.put("config", cfg);
        ctx.contentType("application/json").result(json.writeValueAsBytes(body));
    }

    /** The worker broke off mid-answer: close the client's connection so it sees an incomplete response. */
    private static void abortConnection(Context ctx) {
        var request = org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(ctx.req());
        if (request != null) {
            request.getConnectionMetaData().getConnection().getEndPoint().close();
        }
    }

    /**
     * Graceful stop: no new connections, in-flight requests finish (up to the drain timeout), workers are stopped,
     * then the server closes.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        log.info("gateway stopping: draining requests (up to {} s) and stopping workers", config.drainTimeout().toSeconds());
        for (Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) sc.close();
        }
        pool.close();
        app.stop();
        upstream.close();
        http.close();
        log.info("gateway stopped");
    }
}
