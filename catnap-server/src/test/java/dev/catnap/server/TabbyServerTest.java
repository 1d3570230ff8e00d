package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TabbyServerTest {
    static final String STARCODER_FIM = "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>";
    final ObjectMapper json = new ObjectMapper();
    final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final List<TabbyServer> servers = new ArrayList<>();

    @TempDir
    Path events;

    @AfterEach
    void stop() {
        servers.forEach(TabbyServer::close);
    }

    TabbyServer serve(
            ScriptedModel completion,
            ScriptedModel chat,
            Optional<String> token,
            int parallelism,
            int queue,
            Duration timeout,
            Clock clock) {
        var options =
                new ServerOptions("127.0.0.1", 0, parallelism, queue, token, events, timeout, "cpu", "0.1.0-test");
        var server = TabbyServer.start(
                options,
                Optional.ofNullable(completion)
                        .map(m -> new CompletionModel("TabbyML/StarCoder-1B", m, Optional.of(STARCODER_FIM))),
                Optional.ofNullable(chat)
                        .map(
                                m -> new ChatModel(
                                        "TabbyML/Qwen2-1.5B-Instruct",
                                        m,
                                        ChatTemplate.fromJinja(
                                                "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"))),
                Optional.empty(),
                clock);
        servers.add(server);
        return server;
    }

    TabbyServer serve(ScriptedModel completion, ScriptedModel chat) {
        return serve(completion, chat, Optional.empty(), 2, 8, Duration.ofSeconds(30), Clock.systemUTC());
    }

    HttpResponse<String> send(TabbyServer s, String method, String path, String body, String... headers)
            throws Exception {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + path))
                .timeout(Duration.ofSeconds(20));
        if (headers.length > 0) b.headers(headers);
        b.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(TabbyServer s, String path, String body, String... headers) throws Exception {
        return send(s, "POST", path, body, headers);
    }

    JsonNode parse(HttpResponse<String> r) throws IOException {
        return json.readTree(r.body());
    }

    /** The message of the server's JSON error body. */
    String errorMessage(HttpResponse<String> r) throws IOException {
        return parse(r).path("error").path("message").asText();
    }

    static String completionBody(String language, String prefix, String suffix) {
        return "{\"language\":\"" + language + "\",\"segments\":{\"prefix\":" + quote(prefix) + ",\"suffix\":"
                + quote(suffix) + "},\"debug_options\":{\"return_prompt\":true}}";
    }

    static String quote(String s) {
        try {
            return new ObjectMapper().writeValueAsString(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void healthHasTabbysFieldsIncludingVersion() throws Exception {
        var s = serve(ScriptedModel.saying(0, "x"), ScriptedModel.saying(0, "y"));
        for (String method : List.of("GET", "POST")) {
            var r = send(s, method, "/v1/health", null);
            assertThat(r.statusCode()).isEqualTo(200);
            JsonNode h = parse(r);
            assertThat(h.path("model").asText()).isEqualTo("TabbyML/StarCoder-1B");
            assertThat(h.path("chat_model").asText()).isEqualTo("TabbyML/Qwen2-1.5B-Instruct");
            assertThat(h.path("chat_device").asText()).isEqualTo("cpu");
            assertThat(h.path("device").asText()).isEqualTo("cpu");
            assertThat(h.path("cuda_devices").isArray()).isTrue();
            assertThat(h.path("arch").asText()).isNotEmpty();
            assertThat(h.path("cpu_info").asText()).isNotEmpty();
            assertThat(h.path("cpu_count").asInt()).isPositive();
            assertThat(h.path("version").path("git_describe").asText()).isEqualTo("v0.1.0-test");
            assertThat(h.has("webserver")).isTrue();
            assertThat(h.path("models")
                            .path("completion")
                            .path("local")
                            .path("model_id")
                            .asText())
                    .isEqualTo("TabbyML/StarCoder-1B");
        }
    }

    @Test
    void tokenGuardsEveryV1PathButNotMetrics() throws Exception {
        var s = serve(
                ScriptedModel.saying(0, "x"),
                null,
                Optional.of("secret-token"),
                2,
                8,
                Duration.ofSeconds(30),
                Clock.systemUTC());
        for (String path : List.of("/v1/health", "/v1beta/server_setting", "/v1beta/models")) {
            var r = send(s, "GET", path, null);
            assertThat(r.statusCode()).as(path).isEqualTo(401);
            assertThat(errorMessage(r)).contains("Authorization");
            assertThat(send(s, "GET", path, null, "Authorization", "Bearer wrong")
                            .statusCode())
                    .isEqualTo(401);
            assertThat(send(s, "GET", path, null, "Authorization", "Bearer secret-token")
                            .statusCode())
                    .isEqualTo(200);
        }
        assertThat(post(s, "/v1/completions", completionBody("python", "def f():\n    ", ""))
                        .statusCode())
                .isEqualTo(401);
        assertThat(post(s, "/v1/events", "{}").statusCode()).isEqualTo(401);
        assertThat(post(s, "/v1/chat/completions", "{}").statusCode()).isEqualTo(401);
        assertThat(send(s, "GET", "/v1/nowhere", null).statusCode()).isEqualTo(401);
        var preflight = send(s, "OPTIONS", "/v1/completions", null);
        assertThat(preflight.statusCode()).isEqualTo(204);
        assertThat(preflight.headers().firstValue("access-control-allow-origin"))
                .contains("*");
        assertThat(send(s, "GET", "/metrics", null).statusCode()).isEqualTo(200);
        assertThat(send(s, "GET", "/openapi.json", null).statusCode()).isEqualTo(200);
        var ok = post(
                s,
                "/v1/completions",
                completionBody("python", "def f():\n    ", ""),
                "Authorization",
                "Bearer secret-token");
        assertThat(ok.statusCode()).isEqualTo(200);
    }

    @Test
    void completionBuildsTabbysPromptAndAnswersInItsShape() throws Exception {
        var model = ScriptedModel.saying(0, "if n < 2:", "\n", "        return n", "\n\n", "print(1)");
        var s = serve(model, null);
        String body = """
                {"language":"python",
                 "segments":{"prefix":"import math\\n\\ndef fib(n):\\n    ","suffix":"\\n\\nprint(fib(10))\\n",
                   "filepath":"src/fib.py","git_url":"https://github.com/acme/demo.git",
                   "declarations":[{"filepath":"src/memo.py","body":"def memo(f):\\n    cache = {}\\n    ..."}],
                   "relevant_snippets_from_changed_files":[{"filepath":"src/util.py","body":"def add(a, b):\\n    return a + b","score":0.61}]},
                 "temperature":0.5,"seed":42,
                 "debug_options":{"return_prompt":true,"return_snippets":true}}""";
        var r = post(s, "/v1/completions", body);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode c = parse(r);
        assertThat(c.path("id").asText()).matches("cmpl-[0-9a-f-]{36}");
        assertThat(c.path("choices")).hasSize(1);
        assertThat(c.path("choices").get(0).path("index").asInt()).isZero();
        // "\n\n" is a stop word: the text stops before it.
        assertThat(c.path("choices").get(0).path("text").asText()).isEqualTo("if n < 2:\n        return n");
        assertThat(c.path("mode").asText()).isEqualTo("standard");
        assertThat(c.path("debug_data").path("prompt").asText()).isEqualTo("""
                <fim_prefix># Path: src/memo.py
                # def memo(f):
                #     cache = {}
                #     ...
                #
                # Path: src/util.py
                # def add(a, b):
                #     return a + b
                import math

                def fib(n):
                    <fim_suffix>

                print(fib(10))
                <fim_middle>""");
        assertThat(c.path("debug_data").path("snippets")).hasSize(2);
        assertThat(c.path("debug_data").path("snippets").get(1).path("filepath").asText())
                .isEqualTo("src/util.py");
        var req = model.requests.getLast();
        assertThat(req.maxNewTokens()).isEqualTo(64);
        assertThat(req.temperature()).isEqualTo(0.5);
        assertThat(req.seed()).isEqualTo(42);
    }

    @Test
    void completionDefaultsEmptySuffixAndNoDebugData() throws Exception {
        var model = ScriptedModel.saying(0, "x");
        var s = serve(model, null);
        JsonNode c = parse(post(s, "/v1/completions", "{\"language\":\"python\",\"segments\":{\"prefix\":\"a = \"}}"));
        assertThat(c.has("debug_data")).isFalse();
        var req = model.requests.getLast();
        assertThat(req.prompt().text()).isEqualTo("<fim_prefix>a = <fim_suffix>\n<fim_middle>");
        assertThat(req.temperature()).isEqualTo(0.1);
        assertThat(req.seed()).isGreaterThan(1_600_000_000_000L);
    }

    @Test
    void perLanguageStopWordsAndUnknownLanguageIsSingleLine() throws Exception {
        var s = serve(new ScriptedModel(p -> List.of("return 1", "\n", "def", " g():"), 0), null);
        String text = parse(post(s, "/v1/completions", completionBody("python", "def f():\n    ", "")))
                .path("choices")
                .get(0)
                .path("text")
                .asText();
        assertThat(text).isEqualTo("return 1");
        String unknown = parse(post(s, "/v1/completions", completionBody("brainfuck", "def f():\n    ", "")))
                .path("choices")
                .get(0)
                .path("text")
                .asText();
        assertThat(unknown).isEqualTo("return 1");
        var java = serve(ScriptedModel.saying(0, "return x;", "\n", "}", "\n", "public", " int y;"), null);
        String jtext = parse(post(java, "/v1/completions", completionBody("java", "int f() {\n    ", "")))
                .path("choices")
                .get(0)
                .path("text")
                .asText();
        assertThat(jtext).isEqualTo("return x;\n}");
    }

    @Test
    void crlfInputGetsCrlfOutput() throws Exception {
        var model = ScriptedModel.saying(0, "a = 1", "\n", "    b = 2", "\n\n");
        var s = serve(model, null);
        JsonNode c = parse(post(s, "/v1/completions", completionBody("python", "def f():\r\n    ", "\r\nx = 3\r\n")));
        assertThat(model.requests.getLast().prompt().text()).doesNotContain("\r");
        assertThat(c.path("choices").get(0).path("text").asText()).isEqualTo("a = 1\r\n    b = 2");
    }

    @Test
    void atMost64TokensAndRawPromptIsVerbatim() throws Exception {
        var many = new ArrayList<String>(Collections.nCopies(500, "a"));
        var model = new ScriptedModel(p -> many, 0);
        var s = serve(model, null);
        JsonNode c = parse(
                post(
                        s,
                        "/v1/completions",
                        "{\"language\":\"python\",\"debug_options\":{\"raw_prompt\":\"<fim_prefix>x\",\"return_prompt\":true}}"));
        assertThat(c.path("choices").get(0).path("text").asText()).hasSize(64);
        assertThat(model.requests.getLast().prompt().text()).isEqualTo("<fim_prefix>x");
        assertThat(c.path("debug_data").path("prompt").asText()).isEqualTo("<fim_prefix>x");
    }

    @Test
    void longPromptIsClippedButKeepsTheFimToken() throws Exception {
        var model = ScriptedModel.saying(0, "x");
        var s = serve(model, null);
        String prefix = "x = 1\n".repeat(1000);
        post(s, "/v1/completions", completionBody("python", prefix, "y = 2\n"));
        String prompt = model.requests.getLast().prompt().text();
        assertThat(prompt).startsWith("<fim_prefix>x = 1\n").endsWith("<fim_suffix>y = 2\n<fim_middle>");
        assertThat(prompt.getBytes(StandardCharsets.UTF_8)).hasSize(1536);
    }

    @Test
    void nextEditSuggestionModeUsesTheEditHistoryPrompt() throws Exception {
        var model = ScriptedModel.saying(0, "x = 2", "\n\n", "y");
        var s = serve(model, null);
        var r = post(s, "/v1/completions", """
                {"mode":"next_edit_suggestion","language":"python","segments":{"prefix":"x","edit_history":
                  {"original_code":"x = 1","edits_diff":"-x = 1\\n+x = 2","current_version":"x = 2"}}}""");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode c = parse(r);
        assertThat(c.path("mode").asText()).isEqualTo("next_edit_suggestion");
        assertThat(c.path("choices").get(0).path("text").asText())
                .isEqualTo("x = 2\n\ny"); // no stop words in this mode
        var req = model.requests.getLast();
        assertThat(req.prompt().text())
                .isEqualTo(
                        "<|original_code|>\nx = 1\n<|edits_diff|>\n-x = 1\n+x = 2\n<|current_version|>\nx = 2\n<|next_version|>\n");
        assertThat(req.maxNewTokens()).isEqualTo(128);
        var missing = post(s, "/v1/completions", "{\"mode\":\"next_edit_suggestion\",\"segments\":{\"prefix\":\"x\"}}");
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(errorMessage(missing)).contains("segments.edit_history");
    }

    @Test
    void badRequestsNameTheField() throws Exception {
        var s = serve(ScriptedModel.saying(0, "x"), ScriptedModel.saying(0, "y"));
        var malformed = post(s, "/v1/completions", "{\"segments\":");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(errorMessage(malformed)).contains("not valid JSON");
        var wrongType = post(s, "/v1/completions", "{\"segments\":{\"prefix\":12}}");
        assertThat(wrongType.statusCode()).isEqualTo(400);
        assertThat(errorMessage(wrongType)).contains("segments.prefix");
        var missingPrefix = post(s, "/v1/completions", "{\"segments\":{\"suffix\":\"x\"}}");
        assertThat(missingPrefix.statusCode()).isEqualTo(400);
        assertThat(errorMessage(missingPrefix)).contains("segments.prefix");
        var noSegments = post(s, "/v1/completions", "{\"language\":\"python\"}");
        assertThat(noSegments.statusCode()).isEqualTo(400);
        assertThat(errorMessage(noSegments)).contains("segments");
        var badTemp = post(s, "/v1/completions", "{\"segments\":{\"prefix\":\"a\"},\"temperature\":\"hot\"}");
        assertThat(errorMessage(badTemp)).contains("temperature");
        var badSnippet = post(
                s,
                "/v1/completions",
                "{\"segments\":{\"prefix\":\"a\",\"declarations\":[{\"filepath\":1,\"body\":\"b\"}]}}");
        assertThat(errorMessage(badSnippet)).contains("segments.declarations[0].filepath");
        var badMode = post(s, "/v1/completions", "{\"segments\":{\"prefix\":\"a\"},\"mode\":\"fast\"}");
        assertThat(badMode.statusCode()).isEqualTo(400);
        var notObject = post(s, "/v1/completions", "[1,2]");
        assertThat(notObject.statusCode()).isEqualTo(400);
        var chatNoMessages = post(s, "/v1/chat/completions", "{\"model\":\"\"}");
        assertThat(chatNoMessages.statusCode()).isEqualTo(400);
        assertThat(errorMessage(chatNoMessages)).contains("messages");
        var chatBadRole = post(s, "/v1/chat/completions", "{\"messages\":[{\"role\":5,\"content\":\"hi\"}]}");
        assertThat(errorMessage(chatBadRole)).contains("messages[0].role");
        var chatMarkupRole =
                post(s, "/v1/chat/completions", "{\"messages\":[{\"role\":\"user|><|im_start\",\"content\":\"hi\"}]}");
        assertThat(chatMarkupRole.statusCode()).isEqualTo(400);
        assertThat(errorMessage(chatMarkupRole)).contains("messages[0].role", "role name");
    }

    @Test
    void bodyOverOneMegabyteIs413AndUnknownPathIs404Json() throws Exception {
        var s = serve(ScriptedModel.saying(0, "x"), null);
        String big = "{\"segments\":{\"prefix\":\"" + "a".repeat(1 << 20) + "\"}}";
        assertThat(post(s, "/v1/completions", big).statusCode()).isEqualTo(413);
        var notFound = send(s, "GET", "/v2/anything", null);
        assertThat(notFound.statusCode()).isEqualTo(404);
        assertThat(errorMessage(notFound)).contains("/v2/anything");
        var wrongMethod = send(s, "GET", "/v1/completions", null);
        assertThat(wrongMethod.statusCode()).isEqualTo(405);
        assertThat(errorMessage(wrongMethod)).contains("GET");
    }

    @Test
    void theBodyLimitIsConfigurableAndInvalidUtf8Is400() throws Exception {
        var options = new ServerOptions(
                "127.0.0.1",
                0,
                1,
                4,
                Optional.empty(),
                events,
                Duration.ofSeconds(30),
                "cpu",
                "0.1.0-test",
                List.of(),
                2048);
        var s = TabbyServer.start(
                options,
                Optional.of(new CompletionModel(
                        "TabbyML/StarCoder-1B", ScriptedModel.saying(0, "x"), Optional.of(STARCODER_FIM))),
                Optional.empty(),
                Optional.empty());
        servers.add(s);
        var tooLarge = post(s, "/v1/completions", "{\"segments\":{\"prefix\":\"" + "a".repeat(3000) + "\"}}");
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(parse(tooLarge).at("/error/type").asText()).isEqualTo("payload_too_large");
        assertThat(errorMessage(tooLarge)).isEqualTo("request body exceeds 2048 bytes");
        assertThat(post(s, "/v1/completions", completionBody("python", "a".repeat(1500), ""))
                        .statusCode())
                .isEqualTo(200);

        // a lone continuation byte and a truncated sequence inside a JSON string
        for (byte[] bad : new byte[][] {
            {'{', '"', 'l', 'a', 'n', 'g', 'u', 'a', 'g', 'e', '"', ':', '"', (byte) 0x80, '"', '}'},
            {'{', '"', 'x', '"', ':', '"', (byte) 0xE2, (byte) 0x82, '"', '}'},
        }) {
            var r = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.port() + "/v1/completions"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofByteArray(bad))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
            assertThat(errorMessage(r)).contains("not valid JSON");
        }
        assertThat(post(s, "/v1/completions", completionBody("python", "ok", ""))
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void missingModelsAnswer501() throws Exception {
        var chatOnly = serve(null, ScriptedModel.saying(0, "y"));
        assertThat(post(chatOnly, "/v1/completions", completionBody("python", "a", ""))
                        .statusCode())
                .isEqualTo(501);
        var completionOnly = serve(ScriptedModel.saying(0, "x"), null);
        assertThat(post(
                                completionOnly,
                                "/v1/chat/completions",
                                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                        .statusCode())
                .isEqualTo(501);
        assertThat(parse(send(completionOnly, "GET", "/v1/health", null)).has("chat_model"))
                .isFalse();
    }

    @Test
    void slowCompletionTimesOutWith408AndIsCancelled() throws Exception {
        var model = new ScriptedModel(p -> Collections.nCopies(1000, "a"), 50);
        var s = serve(model, null, Optional.empty(), 2, 8, Duration.ofMillis(300), Clock.systemUTC());
        var r = post(s, "/v1/completions", completionBody("unknown", "x", ""));
        assertThat(r.statusCode()).isEqualTo(408);
        assertThat(model.firstCancel.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void eventsAreAppendedPerUtcDayAndOtherTypesRefused() throws Exception {
        var clock = Clock.fixed(Instant.parse("2026-03-01T23:59:58Z"), ZoneOffset.UTC);
        var s = serve(ScriptedModel.saying(0, "x"), null, Optional.empty(), 1, 1, Duration.ofSeconds(30), clock);
        var r = post(
                s,
                "/v1/events?select_kind=line",
                "{\"type\":\"select\",\"completion_id\":\"cmpl-1\",\"choice_index\":0,\"view_id\":\"view-1\",\"elapsed\":567}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEmpty();
        assertThat(post(s, "/v1/events", "{\"type\":\"view\",\"completion_id\":\"cmpl-1\",\"choice_index\":0}")
                        .statusCode())
                .isEqualTo(200);
        var bad = post(s, "/v1/events", "{\"type\":\"completion\",\"completion_id\":\"cmpl-1\",\"choice_index\":0}");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(post(s, "/v1/events", "{\"type\":\"view\",\"choice_index\":0}")
                        .statusCode())
                .isEqualTo(400);
        List<String> lines = Files.readAllLines(events.resolve("2026-03-01.json"));
        assertThat(lines).hasSize(2);
        JsonNode first = json.readTree(lines.get(0));
        assertThat(first.path("ts").asLong()).isEqualTo(clock.millis());
        assertThat(first.path("user").isNull()).isTrue();
        assertThat(first.path("event").path("select").path("kind").asText()).isEqualTo("line");
        assertThat(first.path("event").path("select").path("elapsed").asInt()).isEqualTo(567);
        assertThat(json.readTree(lines.get(1))
                        .path("event")
                        .path("view")
                        .path("completion_id")
                        .asText())
                .isEqualTo("cmpl-1");
    }

    @Test
    void chatStreamsServerSentEventsAndAnswersJsonWhenStreamIsFalse() throws Exception {
        var chat = ScriptedModel.saying(0, "Tail", " recursion", "!");
        var s = serve(null, chat);
        String messages = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        for (String path : List.of("/v1/chat/completions", "/v1beta/chat/completions")) {
            var r = post(s, path, "{\"model\":\"\"," + messages + ",\"stream\":true}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
            var content = new StringBuilder();
            String finish = null;
            boolean sawRole = false;
            for (String event : r.body().split("\n\n")) {
                if (!event.startsWith("data: ")) continue;
                JsonNode chunk = json.readTree(event.substring(6));
                assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
                JsonNode choice = chunk.path("choices").get(0);
                sawRole |= choice.path("delta").path("role").asText().equals("assistant");
                content.append(choice.path("delta").path("content").asText(""));
                if (!choice.path("finish_reason").isNull())
                    finish = choice.path("finish_reason").asText();
            }
            assertThat(content.toString()).isEqualTo("Tail recursion!");
            assertThat(sawRole).isTrue();
            assertThat(finish).isEqualTo("stop");
            assertThat(r.body()).doesNotContain("[DONE]");
        }
        assertThat(chat.requests.getLast().prompt().text())
                .isEqualTo("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
        var whole = post(
                s, "/v1/chat/completions", "{\"model\":\"m\"," + messages + ",\"stream\":false,\"stop\":[\" rec\"]}");
        JsonNode c = parse(whole);
        assertThat(c.path("object").asText()).isEqualTo("chat.completion");
        assertThat(c.path("choices").get(0).path("message").path("content").asText())
                .isEqualTo("Tail");
        assertThat(c.path("usage").path("completion_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void parallelismBoundsRunningGenerationsAndAFullQueueIs503() throws Exception {
        var model = new ScriptedModel(p -> Collections.nCopies(10, "a"), 100);
        var s = serve(model, null, Optional.empty(), 2, 1, Duration.ofSeconds(30), Clock.systemUTC());
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            var futures = new ArrayList<Future<Integer>>();
            for (int i = 0; i < 6; i++) {
                futures.add(pool.submit(() -> post(s, "/v1/completions", completionBody("unknown", "x", ""))
                        .statusCode()));
            }
            var codes = new ArrayList<Integer>();
            for (var f : futures) codes.add(f.get(20, TimeUnit.SECONDS));
            assertThat(codes).contains(200, 503);
            assertThat(codes.stream().filter(c -> c == 200).count()).isBetween(3L, 5L);
        }
        assertThat(model.maxRunning.get()).isLessThanOrEqualTo(2);
        String metrics = send(s, "GET", "/metrics", null).body();
        assertThat(metrics)
                .contains("catnap_tokens_generated_total{model=\"completion\"}")
                .contains("catnap_queue_depth{model=\"completion\"}")
                .contains("catnap_batch_occupancy{model=\"completion\"}")
                .contains(
                        "catnap_http_requests_seconds_count{method=\"POST\",route=\"/v1/completions\",status=\"503\"}");
    }

    @Test
    void clientDisconnectCancelsTheGeneration() throws Exception {
        var model = new ScriptedModel(p -> Collections.nCopies(1000, "a"), 20);
        var s = serve(model, null);
        byte[] body = completionBody("unknown", "x", "").getBytes(StandardCharsets.UTF_8);
        try (var socket = new Socket("127.0.0.1", s.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(
                    ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                                    + body.length + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (model.running.get() == 0 && System.nanoTime() < until) Thread.sleep(10);
            assertThat(model.running.get()).isEqualTo(1);
        }
        assertThat(model.firstCancel.await(5, TimeUnit.SECONDS))
                .as("generation cancelled after disconnect")
                .isTrue();
    }

    @Test
    void chatStreamDisconnectCancelsTheGeneration() throws Exception {
        var chat = new ScriptedModel(p -> Collections.nCopies(1000, "a"), 20);
        var s = serve(null, chat);
        byte[] body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":900}"
                .getBytes(StandardCharsets.UTF_8);
        try (var socket = new Socket("127.0.0.1", s.port())) {
            OutputStream out = socket.getOutputStream();
            out.write(
                    ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                                    + body.length + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            byte[] buf = new byte[256];
            assertThat(socket.getInputStream().read(buf)).isPositive();
        }
        assertThat(chat.firstCancel.await(5, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void openapiDescribesEveryRoute() throws Exception {
        var s = serve(ScriptedModel.saying(0, "x"), null);
        JsonNode doc = parse(send(s, "GET", "/openapi.json", null));
        assertThat(doc.path("openapi").asText()).startsWith("3.");
        for (String route : TabbyServer.ROUTES)
            assertThat(doc.path("paths").has(route)).as(route).isTrue();
        assertThat(send(s, "GET", "/v1beta/server_setting", null).body())
                .isEqualTo("{\"disable_client_side_telemetry\":false}");
        assertThat(parse(send(s, "GET", "/v1beta/models", null))
                        .path("completion")
                        .isNull())
                .isTrue();
    }
}
