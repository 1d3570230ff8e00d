package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.LanguageModel;
import dev.catnap.index.Chunker;
import dev.catnap.index.CodeIndex;
import dev.catnap.index.CodeSearch;
import dev.catnap.index.Indexer;
import dev.catnap.index.Repository;
import dev.catnap.index.SearchMode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jgit.api.Git;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's end-to-end check: a real git repository (Java and Python files; a helper in one file that another file's
 * cursor needs) is indexed, and a completion at that cursor carries the helper in its prompt, through the HTTP API and
 * the real engine; not when retrieval is disabled.
 */
class RepositoryContextE2ETest {
    static final String GIT_URL = "https://github.com/acme/shop.git";
    static final String MONEY = """
            from decimal import Decimal, ROUND_HALF_UP


            def format_currency(amount, symbol="$"):
                \"\"\"Two decimals, thousands separated: 1234.5 -> $1,234.50\"\"\"
                value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                return f"{symbol}{value:,}"
            """;
    static final Map<String, String> FILES = Map.of(
            "lib/money.py", MONEY,
            "lib/dates.py",
                    "import datetime\n\n\ndef iso_day(ts):\n    return datetime.date.fromtimestamp(ts).isoformat()\n",
            "app/report.py",
                    "from lib.money import format_currency\n\n\ndef print_invoice(items):\n    total = sum(i.price for i in items)\n    print(\"Total:\", format_currency(total))\n",
            "app/cli.py",
                    "import sys\n\n\ndef main(argv):\n    print(\"usage: shop REPORT\", file=sys.stderr)\n    return 2\n",
            "src/main/java/acme/shop/Cart.java",
                    "package acme.shop;\n\nimport java.util.ArrayList;\nimport java.util.List;\n\npublic final class Cart {\n    private final List<Item> items = new ArrayList<>();\n\n    public void add(Item item) {\n        items.add(item);\n    }\n\n    public long totalCents() {\n        return items.stream().mapToLong(Item::priceCents).sum();\n    }\n}\n",
            "src/main/java/acme/shop/Item.java",
                    "package acme.shop;\n\npublic record Item(String name, long priceCents) {}\n",
            "src/main/java/acme/shop/Checkout.java",
                    "package acme.shop;\n\nfinal class Checkout {\n    String receipt(Cart cart) {\n        return \"paid \" + cart.totalCents();\n    }\n}\n");

    static LanguageModel starcoder;
    static TabbyServer server;
    static TabbyServer bare;
    static CodeIndex index;
    static final ObjectMapper json = new ObjectMapper();
    static final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        Path repo = tmp.resolve("shop");
        try (Git git =
                Git.init().setDirectory(repo.toFile()).setInitialBranch("main").call()) {
            for (var f : FILES.entrySet()) {
                Path file = repo.resolve(f.getKey());
                Files.createDirectories(file.getParent());
                Files.writeString(file, f.getValue());
            }
            git.add().addFilepattern(".").call();
            git.commit()
                    .setMessage("shop")
                    .setAuthor("t", "t@catnap.local")
                    .setCommitter("t", "t@catnap.local")
                    .setSign(false)
                    .call();
        }
        Repository configured = Repository.of(repo.toString());
        Path indexDir = tmp.resolve("index");
        try (var indexer = new Indexer(indexDir, Optional.empty(), new Chunker(Chunker.DEFAULT_MAX_CHARS), false)) {
            assertThat(indexer.index(configured.source(), repo, Indexer.Progress.NONE)
                            .read())
                    .isEqualTo(FILES.size());
        }
        index = CodeIndex.open(indexDir, Optional.empty(), SearchMode.HYBRID).orElseThrow();
        var context = new RepositoryContext(
                List.of(configured), CompletableFuture.completedFuture(Optional.<CodeSearch>of(index)));

        starcoder = Engine.languageModel(
                Fixtures.model("tiny-starcoder-17m-q8_0.gguf"), new EngineOptions(2, 4, 256L << 20));
        var completion = new CompletionModel(
                "tiny-starcoder-17m-q8_0",
                new EngineTextModel(starcoder),
                EngineTextModel.fimTemplate(starcoder.tokenizer()));
        server = TabbyServer.start(
                options(), Optional.of(completion), Optional.empty(), Optional.empty(), Optional.of(context));
        bare = TabbyServer.start(options(), Optional.of(completion), Optional.empty(), Optional.empty());
    }

    static ServerOptions options() {
        return new ServerOptions(
                "127.0.0.1",
                0,
                2,
                8,
                Optional.empty(),
                tmp.resolve("events"),
                Duration.ofSeconds(30),
                "cpu",
                "0.1.0-test");
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (bare != null) bare.close();
        if (index != null) index.close();
        if (starcoder != null) starcoder.close();
    }

    static HttpResponse<String> post(TabbyServer to, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + "/v1/completions"))
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(TabbyServer to, String pathAndQuery) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.port() + pathAndQuery))
                        .timeout(Duration.ofSeconds(60))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The cursor in app/report.py, in a new function that needs the money helper; git_url as an editor sends it. */
    static ObjectNode request(String gitUrl, boolean disable) {
        ObjectNode body = json.createObjectNode();
        body.put("language", "python").put("temperature", 0);
        ObjectNode seg = body.putObject("segments");
        seg.put(
                "prefix",
                "from lib.money import format_currency\n\n\ndef print_refund(amount):\n    print(\"Refund:\", format_currency(");
        seg.put("suffix", "))\n");
        seg.put("filepath", "app/report.py");
        seg.put("git_url", gitUrl);
        body.putObject("debug_options")
                .put("return_snippets", true)
                .put("return_prompt", true)
                .put("disable_retrieval_augmented_code_completion", disable);
        return body;
    }

    @Test
    void theHelperFromAnotherFileIsInThePrompt() throws Exception {
        var response = post(server, request(GIT_URL, false).toString());
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode debug = json.readTree(response.body()).path("debug_data");
        String prompt = debug.path("prompt").asText();
        assertThat(prompt)
                .startsWith("<fim_prefix># Path: lib/money.py\n")
                .contains("# def format_currency(amount, symbol=\"$\"):\n")
                .contains("\nfrom lib.money import format_currency\n");
        assertThat(debug.path("snippets").findValuesAsText("filepath"))
                .contains("lib/money.py")
                .doesNotContain("app/report.py"); // the cursor's own file
        assertThat(debug.path("snippets").findValuesAsText("filepath"))
                .allSatisfy(p -> assertThat(p).endsWith(".py"));
        assertThat(debug.path("snippets").get(0).path("score").asDouble()).isBetween(0.0, 1.0);
        String text = json.readTree(response.body())
                .path("choices")
                .get(0)
                .path("text")
                .asText();
        assertThat(text).isNotNull();
    }

    @Test
    void disabledRetrievalOrAnotherRepositoryGivesNoContext() throws Exception {
        JsonNode disabled = json.readTree(
                        post(server, request(GIT_URL, true).toString()).body())
                .path("debug_data");
        assertThat(disabled.path("snippets")).isEmpty();
        assertThat(disabled.path("prompt").asText())
                .doesNotContain("Path: lib/money.py")
                .startsWith("<fim_prefix>from lib.money");
        JsonNode other = json.readTree(post(
                                server,
                                request("https://github.com/acme/other.git", false)
                                        .toString())
                        .body())
                .path("debug_data");
        assertThat(other.path("snippets")).isEmpty();
        JsonNode noIndex = json.readTree(
                        post(bare, request(GIT_URL, false).toString()).body())
                .path("debug_data");
        assertThat(noIndex.path("snippets")).isEmpty();
    }

    @Test
    void clientSnippetsComeFirstAndAreNotRepeated() throws Exception {
        var search = json.readTree(
                get(server, "/v1beta/search?q=" + URLEncoder.encode("format_currency", StandardCharsets.UTF_8))
                        .body());
        String moneyChunk = null;
        for (JsonNode hit : search.path("hits")) {
            if (hit.path("doc").path("filepath").asText().equals("lib/money.py"))
                moneyChunk = hit.path("doc").path("body").asText();
        }
        assertThat(moneyChunk).contains("def format_currency");
        ObjectNode body = request(GIT_URL, false);
        ((ObjectNode) body.path("segments"))
                .putArray("relevant_snippets_from_changed_files")
                .addObject()
                .put("filepath", "lib/money_copy.py")
                .put("body", moneyChunk)
                .put("score", 0.9);
        JsonNode debug = json.readTree(post(server, body.toString()).body()).path("debug_data");
        List<String> bodies = debug.path("snippets").findValuesAsText("body");
        assertThat(bodies.getFirst()).isEqualTo(moneyChunk);
        assertThat(bodies.stream().filter(moneyChunk::equals)).hasSize(1);
        assertThat(debug.path("snippets").findValuesAsText("filepath").getFirst())
                .isEqualTo("lib/money_copy.py");
    }

    @Test
    void codeSearchReturnsChunksWithPathLinesAndScore() throws Exception {
        var response = get(
                server,
                "/v1beta/search?q=totalCents&limit=5&language=java&git_url="
                        + URLEncoder.encode(GIT_URL, StandardCharsets.UTF_8));
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json.readTree(response.body());
        assertThat(body.path("num_hits").asInt()).isPositive();
        JsonNode first = body.path("hits").get(0);
        assertThat(first.path("score").asDouble()).isPositive();
        assertThat(first.path("doc").path("filepath").asText()).startsWith("src/main/java/acme/shop/");
        assertThat(first.path("doc").path("language").asText()).isEqualTo("java");
        assertThat(first.path("doc").path("name").asText()).isEqualTo("shop");
        assertThat(first.path("doc").path("start_line").asInt()).isPositive();
        assertThat(first.path("doc").path("end_line").asInt())
                .isGreaterThanOrEqualTo(first.path("doc").path("start_line").asInt());
        assertThat(body.path("hits").findValuesAsText("language")).containsOnly("java");
    }

    @Test
    void codeSearchBadInputIsA4xxWithAJsonMessage() throws Exception {
        assertThat(get(server, "/v1beta/search").statusCode()).isEqualTo(400);
        assertThat(get(server, "/v1beta/search?q=x&limit=0").statusCode()).isEqualTo(400);
        assertThat(get(server, "/v1beta/search?q=x&offset=-1").statusCode()).isEqualTo(400);
        assertThat(get(server, "/v1beta/search?q=x&language=klingon").statusCode())
                .isEqualTo(400);
        var unknownRepo = get(server, "/v1beta/search?q=x&git_url=https%3A%2F%2Fexample.invalid%2Fnope.git");
        assertThat(unknownRepo.statusCode()).isEqualTo(404);
        assertThat(json.readTree(unknownRepo.body())
                        .path("error")
                        .path("message")
                        .asText())
                .contains("no configured repository");
        var off = get(bare, "/v1beta/search?q=x");
        assertThat(off.statusCode()).isEqualTo(501);
        assertThat(json.readTree(off.body()).path("error").path("message").asText())
                .contains("--repository");
    }
}
