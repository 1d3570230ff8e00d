package dev.catnap.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tabby's HTTP API (server v0.32.0 as seen by its clients) over Catnap's models. Starting it opens the port;
 * the models are already loaded by then, so a TCP connect is a correct readiness check.
 */
public final class TabbyServer implements AutoCloseable {
    static final java.time.Duration DRAIN_TIMEOUT = java.time.Duration.ofSeconds(30);

    private static final Logger log = LoggerFactory.getLogger(TabbyServer.class);
    static final Set<String> ROUTES = Set.of(
            "/v1/health",
            "/v1/completions",
            "/v1/events",
            "/v1/chat/completions",
            "/v1beta/chat/completions",
            "/v1beta/server_setting",
            "/v1beta/models",
            "/v1beta/search",
            "/metrics",
            "/openapi.json");

    private final Javalin app;
    private final ObjectMapper json = new ObjectMapper();
    private final ServerOptions options;
    private final ServerMetrics metrics = new ServerMetrics();
    private final Optional<CompletionService> completions;
    private final Optional<ChatService> chat;
    private final EventLog events;
    private final Optional<RepositoryContext> repositories;
    private final byte[] health;
    private final byte[] openapi;

    private TabbyServer(
            ServerOptions options,
            Optional<CompletionModel> completionModel,
            Optional<ChatModel> chatModel,
            Optional<String> embeddingModelId,
            Optional<RepositoryContext> repositories,
            Clock clock) {
        this.options = options;
        this.repositories = repositories;
        this.completions = completionModel.map(m -> {
            var admission = new Admission(options.parallelism(), options.queueLimit());
            metrics.watch("completion", admission);
            return new CompletionService(
                    m,
                    admission,
                    metrics.tokens("completion"),
                    options.completionTimeout(),
                    json,
                    repositories.<CompletionPrompt.Retrieval>map(r -> r).orElse(CompletionPrompt.Retrieval.NONE));
        });
        this.chat = chatModel.map(m -> {
            var admission = new Admission(options.parallelism(), options.queueLimit());
            metrics.watch("chat", admission);
            return new ChatService(m, admission, metrics.tokens("chat"), json, clock);
        });
        this.events = new EventLog(options.eventsDir(), clock, json);
        this.health = HealthInfo.json(
                json,
                options,
                completionModel.map(CompletionModel::id),
                chatModel.map(ChatModel::id),
                embeddingModelId);
        this.openapi = readResource("openapi.json");
        this.app = Javalin.create(cfg -> {
            cfg.startup.showJavalinBanner = false;
            cfg.startup.showOldJavalinVersionWarning = false;
            cfg.concurrency.useVirtualThreads = true;
            cfg.http.compressionStrategy = CompressionStrategy.NONE;
            cfg.http.maxRequestSize = options.maxBodyBytes();
            cfg.http.prefer405over404 = true; // as axum: a known path with the wrong method is 405, not 404
            cfg.jetty.host = options.host();
            cfg.jetty.port = options.port();
            // on stop, requests in flight (a completion, a chat stream) may finish before the port closes
            cfg.jetty.modifyServer(server -> server.setStopTimeout(DRAIN_TIMEOUT.toMillis()));
            cfg.routes.before(this::beforeEach);
            cfg.routes.get(
                    "/v1/health", ctx -> ctx.contentType("application/json").result(health));
            cfg.routes.post(
                    "/v1/health", ctx -> ctx.contentType("application/json").result(health));
            cfg.routes.post("/v1/completions", this::completion);
            cfg.routes.post("/v1/events", this::event);
            cfg.routes.post("/v1/chat/completions", this::chatCompletion);
            cfg.routes.post("/v1beta/chat/completions", this::chatCompletion);
            cfg.routes.get(
                    "/v1beta/server_setting",
                    ctx -> ctx.contentType("application/json").result("{\"disable_client_side_telemetry\":false}"));
            // Tabby lists models only for HTTP (remote) backends; local models give nulls.
            cfg.routes.get(
                    "/v1beta/models",
                    ctx -> ctx.contentType("application/json").result("{\"completion\":null,\"chat\":null}"));
            cfg.routes.get("/v1beta/search", this::codeSearch);
            cfg.routes.get(
                    "/metrics",
                    ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                            .result(metrics.scrape()));
            cfg.routes.get(
                    "/openapi.json", ctx -> ctx.contentType("application/json").result(openapi));
            for (String route : ROUTES) cfg.routes.options(route, ctx -> ctx.status(204)); // CORS preflight
            cfg.routes.after(this::afterEach);
            cfg.routes.exception(ApiException.class, (e, ctx) -> error(ctx, e.status(), e.type(), e.getMessage()));
            cfg.routes.exception(
                    HttpResponseException.class,
                    (e, ctx) -> error(
                            ctx,
                            e.getStatus(),
                            switch (e.getStatus()) {
                                case 404 -> "not_found";
                                case 405 -> "method_not_allowed";
                                default -> "http_error";
                            },
                            switch (e.getStatus()) {
                                case 404 -> "no route for " + ctx.method() + " " + ctx.path();
                                case 405 -> ctx.method() + " is not allowed on " + ctx.path();
                                default -> e.getMessage();
                            }));
            cfg.routes.exception(Exception.class, (e, ctx) -> {
                log.error("{} {} failed", ctx.method(), ctx.path(), e);
                error(
                        ctx,
                        500,
                        "server_error",
                        "internal error: " + e.getClass().getSimpleName());
            });
            cfg.routes.error(404, ctx -> {
                if (ctx.result() == null)
                    error(ctx, 404, "not_found", "no route for " + ctx.method() + " " + ctx.path());
            });
        });
    }

    /**
     * Opens the port and serves. At least one of the completion and chat models must be given; the embedding
     * model is only reported in {@code /v1/health} (Tabby uses it for its code index, not over HTTP).
     */
    public static TabbyServer start(
            ServerOptions options,
            Optional<CompletionModel> completion,
            Optional<ChatModel> chat,
            Optional<String> embeddingModelId) {
        return start(options, completion, chat, embeddingModelId, Optional.empty(), Clock.systemUTC());
    }

    /** As above, with the user's repositories for completion context and {@code /v1beta/search}. */
    public static TabbyServer start(
            ServerOptions options,
            Optional<CompletionModel> completion,
            Optional<ChatModel> chat,
            Optional<String> embeddingModelId,
            Optional<RepositoryContext> repositories) {
        return start(options, completion, chat, embeddingModelId, repositories, Clock.systemUTC());
    }

    static TabbyServer start(
            ServerOptions options,
            Optional<CompletionModel> completion,
            Optional<ChatModel> chat,
            Optional<String> embeddingModelId,
            Clock clock) {
        return start(options, completion, chat, embeddingModelId, Optional.empty(), clock);
    }

    static TabbyServer start(
            ServerOptions options,
            Optional<CompletionModel> completion,
            Optional<ChatModel> chat,
            Optional<String> embeddingModelId,
            Optional<RepositoryContext> repositories,
            Clock clock) {
        if (completion.isEmpty() && chat.isEmpty())
            throw new IllegalArgumentException("no completion or chat model to serve");
        var server = new TabbyServer(options, completion, chat, embeddingModelId, repositories, clock);
        server.app.start();
        return server;
    }

    public int port() {
        return app.port();
    }

    @Override
    /** Stops accepting, waits up to {@link #DRAIN_TIMEOUT} for requests in flight, then closes. */
    public void close() {
        app.stop();
    }

    private void beforeEach(Context ctx) {
        ctx.attribute("catnap.start", System.nanoTime());
        // Tabby answers every origin (CorsLayer::permissive); browsers' preflights need these.
        ctx.header("Access-Control-Allow-Origin", "*");
        ctx.header("Access-Control-Allow-Headers", "*");
        ctx.header("Access-Control-Allow-Methods", "*");
        String path = ctx.path();
        if (options.token().isPresent()
                && (path.startsWith("/v1/")
                        || path.startsWith("/v1beta/")
                        || path.equals("/v1")
                        || path.equals("/v1beta"))
                && !ctx.method().name().equals("OPTIONS")) {
            checkToken(ctx.header("Authorization"), options.token().get());
        }
    }

    /** Tabby splits the header on the first space and ignores the scheme word; so do we. */
    static void checkToken(String header, String token) {
        if (header == null) throw new ApiException(401, "unauthorized", "missing Authorization: Bearer <token> header");
        int space = header.indexOf(' ');
        String given = space < 0 ? "" : header.substring(space + 1).strip();
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(401, "unauthorized", "invalid token");
        }
    }

    private void afterEach(Context ctx) {
        Long start = ctx.attribute("catnap.start");
        if (start == null) return;
        String route = ROUTES.contains(ctx.path()) ? ctx.path() : "unmatched";
        metrics.request(ctx.method().name(), route, ctx.statusCode(), System.nanoTime() - start);
    }

    /**
     * The one error body of catnap, {@code {"error":{"message","type","code"}}} with the HTTP status as {@code code}
     * (as llama-server and OpenAI clients have it); the gateway's GatewayErrors writes the same, so that an editor
     * sees one shape whether or not a gateway is in front.
     */
    private void error(Context ctx, int status, String type, String message) {
        ObjectNode body = json.createObjectNode();
        body.putObject("error").put("message", message).put("type", type).put("code", status);
        ctx.status(status).contentType("application/json").result(body.toString());
        if (status >= 500) log.warn("{} {} -> {}: {}", ctx.method(), ctx.path(), status, message);
    }

    private void completion(Context ctx) throws Exception {
        CompletionService service = completions.orElseThrow(() ->
                new ApiException(501, "not_implemented", "no completion model is configured (start with --model)"));
        Obj body = Obj.root(readJson(ctx));
        ObjectNode response =
                service.complete(body, ctx.header("x-tabby-user"), ClientWatch.of(ctx), System.nanoTime());
        ctx.contentType("application/json").result(json.writeValueAsBytes(response));
    }

    private void chatCompletion(Context ctx) throws Exception {
        ChatService service = chat.orElseThrow(() ->
                new ApiException(501, "not_implemented", "no chat model is configured (start with --chat-model)"));
        Obj body = Obj.root(readJson(ctx));
        service.chat(body, ctx);
    }

    /**
     * {@code GET /v1beta/search?q=&limit=20&offset=0}, in the shape of Tabby's old code search (the last openapi that
     * listed it): {@code {"num_hits", "hits": [{"score", "id", "doc": {"body", "filepath", "git_url", "kind",
     * "language", "name"}}]}}, each doc also with {@code start_line} and {@code end_line}. Optional {@code git_url}
     * and {@code language} narrow it. 501 when no code index is configured or open, as Tabby with search disabled.
     */
    private void codeSearch(Context ctx) throws Exception {
        RepositoryContext repos = repositories.orElseThrow(() -> new ApiException(
                501, "not_implemented", "code search is off: start with --repository (and run 'catnap index')"));
        var index = repos.index()
                .orElseThrow(() -> new ApiException(
                        501, "not_implemented", "the code index is not open (see the server log; run 'catnap index')"));
        String q = ctx.queryParam("q");
        if (q == null || q.isBlank()) throw ApiException.badRequest("query parameter 'q' is required");
        int limit = intParam(ctx, "limit", 20, 1, 100);
        int offset = intParam(ctx, "offset", 0, 0, 1000);
        Optional<String> source = Optional.empty();
        String gitUrl = ctx.queryParam("git_url");
        if (gitUrl != null && !gitUrl.isBlank()) {
            source = repos.sourceFor(gitUrl);
            if (source.isEmpty())
                throw new ApiException(404, "not_found", "no configured repository matches git_url '" + gitUrl + "'");
        }
        Optional<String> language = Optional.empty();
        String lang = ctx.queryParam("language");
        if (lang != null && !lang.isBlank()) {
            language = dev.catnap.index.CodeLanguage.ofEditorId(lang);
            if (language.isEmpty()) throw ApiException.badRequest("unknown language '" + lang + "'");
        }
        var hits = index.search(
                new dev.catnap.index.CodeSearch.Request(q, source, language, Optional.empty(), offset + limit, false));
        ObjectNode body = json.createObjectNode();
        body.put("num_hits", hits.size());
        var list = body.putArray("hits");
        for (int i = offset; i < hits.size(); i++) {
            var h = hits.get(i);
            ObjectNode hit = list.addObject();
            hit.put("score", h.rrf());
            hit.put("id", i);
            ObjectNode doc = hit.putObject("doc");
            doc.put("body", h.body())
                    .put("filepath", h.filepath())
                    .put("git_url", h.source())
                    .put("kind", "chunk")
                    .put("language", h.language())
                    .put("name", dev.catnap.index.Repository.nameOf(h.source()))
                    .put("start_line", h.startLine())
                    .put("end_line", h.endLine());
        }
        ctx.contentType("application/json").result(json.writeValueAsBytes(body));
    }

    private static int intParam(Context ctx, String name, int fallback, int min, int max) {
        String v = ctx.queryParam(name);
        if (v == null || v.isBlank()) return fallback;
        try {
            int n = Integer.parseInt(v.strip());
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw ApiException.badRequest("query parameter '" + name + "' must be an integer in " + min + ".." + max);
    }

    private void event(Context ctx) throws Exception {
        Obj body = Obj.root(readJson(ctx));
        String type = body.requiredString("type");
        if (!Set.of("view", "select", "dismiss").contains(type)) {
            throw ApiException.badRequest("unsupported event type '" + type + "' (expected view, select or dismiss)");
        }
        ObjectNode event = json.createObjectNode();
        event.put("completion_id", body.requiredString("completion_id"));
        event.put(
                "choice_index",
                body.integer("choice_index", 0, 0xFFFF_FFFFL)
                        .orElseThrow(() -> ApiException.badRequest("missing field 'choice_index'")));
        if (type.equals("select")) {
            String kind = Optional.ofNullable(ctx.queryParam("select_kind"))
                    .or(() -> body.string("select_kind"))
                    .orElse(null);
            if (kind != null) {
                if (!kind.equals("line")) throw ApiException.badRequest("field 'select_kind' must be \"line\"");
                event.put("kind", kind);
            }
        }
        body.string("view_id").ifPresent(v -> event.put("view_id", v));
        body.integer("elapsed", 0, 0xFFFF_FFFFL).ifPresent(v -> event.put("elapsed", v));
        events.append(ctx.header("x-tabby-user"), type, event);
        ctx.status(200);
    }

    /** The body as JSON: 413 past the body limit (declared or actual), 400 when it does not parse. */
    private JsonNode readJson(Context ctx) throws IOException {
        long limit = options.maxBodyBytes();
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) throw tooLarge(limit);
        byte[] bytes;
        try (InputStream in = ctx.req().getInputStream()) {
            bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
        }
        if (bytes.length > limit) throw tooLarge(limit);
        if (bytes.length == 0) throw ApiException.badRequest("request body is empty; expected a JSON object");
        try {
            return json.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("request body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static ApiException tooLarge(long limit) {
        return new ApiException(413, "payload_too_large", "request body exceeds " + limit + " bytes");
    }

    private static byte[] readResource(String name) {
        try (InputStream in = TabbyServer.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException(name + " missing from the catnap-server jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }
}
