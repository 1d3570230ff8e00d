package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.engine.Engine;
import dev.catnap.engine.EngineOptions;
import dev.catnap.engine.LanguageModel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP API over the real engine: the trained StarCoder fixture for completions, the random Qwen2 one for chat. */
class EngineServerTest {
    static LanguageModel starcoder;
    static LanguageModel qwen;
    static TabbyServer server;
    static final ObjectMapper json = new ObjectMapper();
    static final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    static Path events;

    @BeforeAll
    static void start() throws Exception {
        var engine = new EngineOptions(2, 4, 256L << 20);
        starcoder = Engine.languageModel(Fixtures.model("tiny-starcoder-17m-q8_0.gguf"), engine);
        qwen = Engine.languageModel(Fixtures.model("synth-qwen2-tiny-q8_0.gguf"), engine);
        var options = new ServerOptions(
                "127.0.0.1", 0, 4, 16, Optional.empty(), events, Duration.ofSeconds(30), "cpu", "0.1.0-test");
        server = TabbyServer.start(
                options,
                Optional.of(new CompletionModel(
                        "tiny-starcoder-17m-q8_0",
                        new EngineTextModel(starcoder),
                        EngineTextModel.fimTemplate(starcoder.tokenizer()))),
                Optional.of(new ChatModel(
                        "synth-qwen2-tiny-q8_0",
                        new EngineTextModel(qwen),
                        ChatTemplate.fromJinja(qwen.metadata().getString("tokenizer.chat_template")))),
                Optional.empty());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (starcoder != null) starcoder.close();
        if (qwen != null) qwen.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void fimTemplateComesFromTheVocabulary() {
        assertThat(EngineTextModel.fimTemplate(starcoder.tokenizer()))
                .contains("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");
        assertThat(ChatTemplate.fromJinja(qwen.metadata().getString("tokenizer.chat_template"))
                        .shape())
                .isEqualTo(ChatTemplate.Shape.CHATML);
    }

    @Test
    void greedyCompletionIsDeterministicAndNonEmpty() throws Exception {
        String body = """
                {"language":"python","temperature":0,
                 "segments":{"prefix":"def fibonacci(n):\\n    if n < 2:\\n        return n\\n    return ","suffix":"\\n"},
                 "debug_options":{"return_prompt":true}}""";
        var first = post("/v1/completions", body);
        assertThat(first.statusCode()).isEqualTo(200);
        JsonNode c = json.readTree(first.body());
        String text = c.path("choices").get(0).path("text").asText();
        System.out.println("completion: " + json.writeValueAsString(text));
        assertThat(text).isNotBlank();
        assertThat(c.path("debug_data").path("prompt").asText()).startsWith("<fim_prefix>def fibonacci");
        assertThat(json.readTree(post("/v1/completions", body).body())
                        .path("choices")
                        .get(0)
                        .path("text")
                        .asText())
                .isEqualTo(text);
    }

    @Test
    void tokensBeyondTheContextAreDroppedFromTheFrontKeepingBos() {
        var special = new dev.catnap.engine.tokenizer.SpecialTokens(1, 2, -1, 0, -1, -1, -1, -1, -1, -1, true, false);
        assertThat(EngineTextModel.fit(new int[] {1, 10, 11, 12, 13}, 3, special))
                .containsExactly(1, 12, 13);
        assertThat(EngineTextModel.fit(new int[] {10, 11, 12, 13}, 3, special)).containsExactly(11, 12, 13);
        assertThat(EngineTextModel.fit(new int[] {1, 10}, 3, special)).containsExactly(1, 10);
    }

    @Test
    void aPromptBeyondTheKvBudgetIsClippedToIt() throws Exception {
        // About 100 positions of KV cache: far less than the 2048-token context.
        try (var small = new EngineTextModel(Engine.languageModel(
                Fixtures.model("tiny-starcoder-17m-q8_0.gguf"), new EngineOptions(2, 1, 300_000)))) {
            var done = new java.util.concurrent.CompletableFuture<TextModel.Outcome>();
            var text = new StringBuilder();
            small.generate(
                    new TextModel.Request(
                            dev.catnap.engine.tokenizer.Prompt.of(
                                    new dev.catnap.engine.tokenizer.Prompt.Text("x = 1\n".repeat(100))),
                            8,
                            0,
                            1),
                    new TextModel.Sink() {
                        @Override
                        public boolean accept(String piece) {
                            text.append(piece);
                            return true;
                        }

                        @Override
                        public void finished(TextModel.Outcome outcome) {
                            done.complete(outcome);
                        }
                    });
            var outcome = done.get(60, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(outcome.finish()).isIn(TextModel.Finish.LENGTH, TextModel.Finish.END_OF_TEXT);
            assertThat(outcome.promptTokens()).isBetween(50, 100 - 8);
        }
    }

    @Test
    void chatStreamsAndAnswersWholeWithTheRandomQwen() throws Exception {
        var r = post(
                "/v1/chat/completions",
                "{\"model\":\"\",\"max_tokens\":12,\"seed\":7,\"messages\":[{\"role\":\"user\",\"content\":\"Write fib in Python\"}]}");
        assertThat(r.statusCode()).isEqualTo(200);
        int chunks = 0;
        String finish = null;
        for (String event : r.body().split("\n\n")) {
            if (!event.startsWith("data: ")) continue;
            JsonNode choice = json.readTree(event.substring(6)).path("choices").get(0);
            chunks++;
            if (!choice.path("finish_reason").isNull())
                finish = choice.path("finish_reason").asText();
        }
        assertThat(chunks).isGreaterThan(1);
        assertThat(finish).isIn("stop", "length");
        var whole = json.readTree(post(
                        "/v1/chat/completions",
                        "{\"stream\":false,\"max_tokens\":5,\"temperature\":0,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
                .body());
        assertThat(whole.path("usage").path("completion_tokens").asInt()).isBetween(1, 5);
        // "<|im_start|>system\nYou are a helpful
        // assistant<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        assertThat(whole.path("usage").path("prompt_tokens").asInt()).isGreaterThan(10);
    }
}
