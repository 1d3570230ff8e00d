package dev.catnap.gateway;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import org.eclipse.jetty.server.AbstractConnector;
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
    private static final List<HandlerType> PROXIED_METHODS = List.of(
            HandlerType.GET,
            HandlerType.POST,
            HandlerType.PUT,
            HandlerType.PATCH,
            HandlerType.DELETE,
            HandlerType.HEAD,
            HandlerType.OPTIONS);

    private final GatewayConfig config;
    private final HttpClient http;
    private final UpstreamClient upstream = new UpstreamClient();
    private final GatewayMetrics metrics = new GatewayMetrics();
    private final WorkerPool pool;
    private final ReverseProxy proxy;
    private final StatusPage statusPage;
    private final ObjectMapper json = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
    private final Javalin app;
    private final FrontDoor frontDoor;
    private final SlowClientGuard guard;
    private boolean closed;

    /**
     * Paths answered without a token even when tokens are set. Every other path, the gateway's own
     * ({@code /gateway/status}, {@code /metrics}) and every proxied one, needs a token: a request without one never
     * reaches, or starts, a worker. A new public route is added here.
     */
    static final Set<String> PUBLIC_PATHS = Set.of();

    private Gateway(GatewayConfig config, FrontDoor frontDoor) {
        this.config = config;
        this.frontDoor = frontDoor;
        this.guard = new SlowClientGuard(frontDoor.headTimeout());
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .executor(Executors.newVirtualThreadPerTaskExecutor())
                .build();
        this.pool = new WorkerPool(config, metrics, http, upstream::evict);
        this.proxy = new ReverseProxy(upstream, pool, new HealthCache(config.stateDir()), metrics, frontDoor, guard);
        this.statusPage = new StatusPage(config, pool, metrics);
        this.app = Javalin.create(cfg -> {
            cfg.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
            cfg.jetty.modifyHttpConfiguration(http -> http.setRequestHeaderSize(frontDoor.maxHeaderBytes()));
            cfg.routes.before(this::authenticate);
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
            cfg.routes.exception(Refused.class, (e, ctx) -> {
                refuse(ctx, e.status, e.getMessage());
                metrics.request(e.status);
            });
            cfg.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> refuse(
                            ctx,
                            e.getStatus(),
                            e.getStatus() == 404 || e.getStatus() == 405
                                    ? ctx.method() + " is not served on " + ctx.path()
                                    : e.getMessage()));
            for (int code : new int[] {404, 405}) {
                cfg.routes.error(code, ctx -> {
                    if (ctx.result() == null) refuse(ctx, code, ctx.method() + " is not served on " + ctx.path());
                });
            }
        });
    }

    /** Starts listening (and the minimum workers), with no token and the default limits. */
    public static Gateway start(GatewayConfig config) {
        return start(config, FrontDoor.open());
    }

    /** Starts listening (and the minimum workers) behind {@code frontDoor}. */
    public static Gateway start(GatewayConfig config, FrontDoor frontDoor) {
        Gateway g = new Gateway(config, frontDoor);
        g.app.start(config.host(), config.port());
        for (Connector c : g.app.jettyServer().server().getConnectors()) {
            if (c instanceof AbstractConnector ac) {
                ac.setIdleTimeout(frontDoor.idleTimeout().toMillis());
                g.guard.watch(ac);
            }
        }
        frontDoor.tokens().watch();
        g.pool.start();
        log.info(
                "gateway listening on http://{}:{} (max {} workers, {} requests each, idle stop after {} s; {})",
                config.host(),
                g.port(),
                config.maxWorkers(),
                config.maxInputs(),
                config.scaledownWindow().toSeconds(),
                describe(frontDoor));
        if (!frontDoor.tokens().required() && !isLoopback(config.host())) {
            log.warn(
                    "no token is set and the gateway listens on {}: anyone who reaches it can start workers (set --token or --token-file)",
                    config.host());
        }
        return g;
    }

    private static String describe(FrontDoor d) {
        String auth = !d.tokens().required()
                ? "no token required"
                : d.tokens().count() + " token(s)"
                        + d.tokens()
                                .path()
                                .map(p -> " from " + p + ", reloaded on change")
                                .orElse("");
        return auth + ", bodies up to " + d.maxBodyBytes() + " bytes";
    }

    private static boolean isLoopback(String host) {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static void refuse(Context ctx, int status, String message) {
        try {
            GatewayErrors.writeRefusal(ctx.res(), status, JsonErrorHandler.type(status), message);
        } catch (java.io.IOException e) {
            // the client is gone: nobody to tell
        }
    }

    /** A request the front door refuses before any route runs. */
    private static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    /**
     * Every path but {@link #PUBLIC_PATHS} needs an accepted token, checked here before any route runs. A CORS
     * preflight (OPTIONS, which browsers send without credentials) is answered here, as {@code catnap serve} answers
     * it, rather than starting a worker for it.
     */
    private void authenticate(Context ctx) {
        Tokens tokens = frontDoor.tokens();
        if (!tokens.required() || PUBLIC_PATHS.contains(ctx.path())) return;
        String authorization = ctx.header("Authorization");
        if (tokens.accepts(authorization)) return;
        if (ctx.method() == HandlerType.OPTIONS) {
            GatewayErrors.corsHeaders(ctx::header);
            ctx.status(204);
            ctx.skipRemainingHandlers();
            return;
        }
        throw new Refused(
                401, authorization == null ? "missing Authorization: Bearer <token> header" : "invalid token");
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
        log.info(
                "gateway stopping: draining requests (up to {} s) and stopping workers",
                config.drainTimeout().toSeconds());
        for (Connector c : app.jettyServer().server().getConnectors()) {
            if (c instanceof ServerConnector sc) sc.close();
        }
        pool.close();
        guard.close();
        frontDoor.tokens().close();
        app.stop();
        upstream.close();
        http.close();
        log.info("gateway stopped");
    }
}
