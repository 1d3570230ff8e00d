package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.LanguageModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tabby's real editor client against the server on the trained StarCoder fixture: tabby-agent 1.5.0 in LSP mode
 * (configured through config.toml in a temporary HOME, as editors do) and in its JSON-lines mode. Skipped, with
 * the reason, where node or the agent is not installed; CI installs both.
 */
class TabbyAgentE2ETest {
    static final String TOKEN = "auth_e2e0123456789abcdef";
    static final ObjectMapper JSON = new ObjectMapper();
    static List<String> agent;
    static LanguageModel model;
    static TabbyServer server;

    @TempDir
    static Path tmp;

    static final String PYTHON = """
            class Stack:
                def __init__(self):
                    self._items = []

                def push(self, item):
                    self._items.append(item)

                def __len__(self):
                    return |

                def __iter__(self):
                    return iter(self._items)
            """;
    static final String JAVA = """
            package org.apache.commons.lang3;

            public class StringUtils {

                public static boolean isEmpty(final CharSequence cs) {
                    return |
                }
            }
            """;

    @BeforeAll
    static void start() throws Exception {
        var reasons = new ArrayList<String>();
        agent = TabbyAgent.command(reasons).orElse(null);
        // CI installs the agent (.ci/run): there, a missing agent is a failure, not a skip
        if (agent == null && System.getenv("CI") != null) {
            throw new IllegalStateException("tabby-agent is required in CI: " + String.join("; ", reasons));
        }
        Assumptions.assumeTrue(
                agent != null, () -> "skipping the tabby-agent end-to-end test: " + String.join("; ", reasons));
        model = Engine.languageModel(
                Fixtures.model("tiny-starcoder-17m-q8_0.gguf"), new EngineOptions(2, 2, 128L << 20));
        var options = new ServerOptions(
                "127.0.0.1",
                0,
                2,
                8,
                Optional.of(TOKEN),
                tmp.resolve("events"),
                Duration.ofSeconds(30),
                "cpu",
                "0.1.0-test");
        server = TabbyServer.start(
                options,
                Optional.of(new CompletionModel(
                        "TabbyML/StarCoder-1B",
                        new EngineTextModel(model),
                        EngineTextModel.fimTemplate(model.tokenizer()))),
                Optional.empty(),
                Optional.empty());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (model != null) model.close();
    }

    static String endpoint() {
        return "http://127.0.0.1:" + server.port();
    }

    static Path home(String name) throws Exception {
        Path home = Files.createDirectories(tmp.resolve(name));
        Path config =
                Files.createDirectories(home.resolve(".tabby-client/agent")).resolve("config.toml");
        Files.writeString(config, """
                [server]
                endpoint = "%s"
                token = "%s"

                [anonymousUsageTracking]
                disable = true
                """.formatted(endpoint(), TOKEN));
        return home;
    }

    /** The document without its cursor marker '|'. */
    static String text(String marked) {
        return marked.replace("|", "");
    }

    static int offset(String marked) {
        return marked.indexOf('|');
    }

    /** LSP position {line, character} of the cursor marker. */
    static int[] cursor(String marked) {
        String before = marked.substring(0, offset(marked));
        int line = (int) before.chars().filter(c -> c == '\n').count();
        return new int[] {line, before.length() - before.lastIndexOf('\n') - 1};
    }

    @Test
    void lspModeCompletesPythonAndJava() throws Exception {
        Path home = home("lsp-home");
        Path project = Files.createDirectories(home.resolve("project"));
        try (var a = new TabbyAgent(agent, home, true)) {
            JsonNode init = a.request(
                    "initialize",
                    Map.of(
                            "processId",
                            ProcessHandle.current().pid(),
                            "rootUri",
                            project.toUri().toString(),
                            "capabilities",
                            Map.of()));
            assertThat(init.has("result"))
                    .as("initialize: %s / %s", init, a.stderr())
                    .isTrue();
            a.notify("initialized", Map.of());
            for (var doc : List.of(Map.entry("python", PYTHON), Map.entry("java", JAVA))) {
                String uri = project.resolve("Example." + (doc.getKey().equals("python") ? "py" : "java"))
                        .toUri()
                        .toString();
                a.notify(
                        "textDocument/didOpen",
                        Map.of(
                                "textDocument",
                                Map.of(
                                        "uri",
                                        uri,
                                        "languageId",
                                        doc.getKey(),
                                        "version",
                                        1,
                                        "text",
                                        text(doc.getValue()))));
                int[] c = cursor(doc.getValue());
                JsonNode r = a.request(
                        "textDocument/completion",
                        Map.of(
                                "textDocument",
                                Map.of("uri", uri),
                                "position",
                                Map.of("line", c[0], "character", c[1])));
                System.out.println("LSP " + doc.getKey() + ": " + r);
                JsonNode items = r.path("result").isArray()
                        ? r.path("result")
                        : r.path("result").path("items");
                assertThat(items.size())
                        .as("%s completion items: %s / agent stderr: %s", doc.getKey(), r, a.stderr())
                        .isPositive();
                assertThat(items.get(0).path("textEdit").path("newText").asText())
                        .isNotBlank();
            }
            a.request("shutdown", Map.of());
            a.notify("exit", Map.of());
        }
    }

    @Test
    void jsonLinesModeCompletesAndPostsEvents() throws Exception {
        Path home = home("jsonl-home");
        try (var a = new TabbyAgent(agent, home, false)) {
            var config = Map.of(
                    "server",
                    Map.of("endpoint", endpoint(), "token", TOKEN),
                    "anonymousUsageTracking",
                    Map.of("disable", true));
            JsonNode ok = a.call(
                    "initialize",
                    Map.of(
                            "config",
                            config,
                            "clientProperties",
                            Map.of("user", Map.of(), "session", Map.of("client", "catnap-e2e"))));
            System.out.println("initialize -> " + ok + " status " + a.call("getStatus"));
            assertThat(a.call("getStatus").asText()).as(a.stderr()).isEqualTo("ready");
            assertThat(a.call("getServerHealthState").path("model").asText()).isEqualTo("TabbyML/StarCoder-1B");
            String completionId = null;
            for (var doc : List.of(Map.entry("python", PYTHON), Map.entry("java", JAVA))) {
                var request = new LinkedHashMap<String, Object>();
                request.put(
                        "filepath",
                        tmp.resolve("Example." + (doc.getKey().equals("python") ? "py" : "java"))
                                .toString());
                request.put("language", doc.getKey());
                request.put("text", text(doc.getValue()));
                request.put("position", offset(doc.getValue()));
                request.put("manually", true);
                JsonNode r = a.call("provideCompletions", request, Map.of("signal", true));
                System.out.println("JSONL " + doc.getKey() + ": " + r);
                assertThat(r.path("choices").size())
                        .as("%s: %s / %s", doc.getKey(), r, a.stderr())
                        .isPositive();
                assertThat(r.path("choices").get(0).path("text").asText()).isNotBlank();
                completionId = r.path("id").asText();
            }
            String selected = completionId;
            assertThat(selected).startsWith("cmpl-");
            JsonNode posted = a.call(
                    "postEvent",
                    Map.of(
                            "type",
                            "select",
                            "select_kind",
                            "line",
                            "completion_id",
                            selected,
                            "choice_index",
                            0,
                            "view_id",
                            "view-e2e",
                            "elapsed",
                            1234));
            assertThat(posted.asBoolean()).isTrue();
            Path file = tmp.resolve("events").resolve(LocalDate.now(ZoneOffset.UTC) + ".json");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!Files.exists(file) && System.nanoTime() < until) Thread.sleep(50);
            List<String> lines = Files.readAllLines(file);
            assertThat(lines).anySatisfy(line -> {
                JsonNode e = JSON.readTree(line).path("event").path("select");
                assertThat(e.path("completion_id").asText()).isEqualTo(selected);
                assertThat(e.path("kind").asText()).isEqualTo("line");
                assertThat(e.path("view_id").asText()).isEqualTo("view-e2e");
            });
            a.call("finalize");
        }
    }
}
