package dev.catnap.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.model.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tokenizations, pieces and end-of-generation flags that llama.cpp recorded for the models in {@code models/}
 * ({@code expected/*.json}), and the special ids the fixtures README states for the trained StarCoder model.
 */
class ModelFixtureTokenizationTest {
    private static Tokenizer starcoder;
    private static Tokenizer qwen2;

    @BeforeAll
    static void load() {
        starcoder = TokenizerFixtures.load(TokenizerFixtures.model("tiny-starcoder-17m-q8_0.gguf"));
        qwen2 = TokenizerFixtures.load(TokenizerFixtures.model("synth-qwen2-tiny-q8_0.gguf"));
    }

    @Test
    void trainedStarCoderSpecialTokens() {
        SpecialTokens s = starcoder.specialTokens();
        assertThat(s.bos()).isZero();
        assertThat(s.eos()).isZero();
        assertThat(s.unk()).isZero();
        assertThat(s.fimPrefix()).isEqualTo(1);
        assertThat(s.fimMiddle()).isEqualTo(2);
        assertThat(s.fimSuffix()).isEqualTo(3);
        assertThat(s.addBos()).isFalse();
        assertThat(s.addEos()).isFalse();
        assertThat(starcoder.encode("def f():", true, false))
                .as("no BOS for this vocabulary")
                .doesNotContain(0)
                .startsWith(starcoder.encode("def", false, false));
        assertThat(starcoder.tokenId("<fim_prefix>")).hasValue(1);
        assertThat(starcoder.tokenId("no such token")).isEmpty();
    }

    @Test
    void endOfGenerationSetsMatchLlamaCpp() {
        assertThat(eogIds(starcoder)).containsExactly(0, 4); // <|endoftext|>, <fim_pad>
        assertThat(eogIds(qwen2)).containsExactly(128247, 151643, 151645); // </s>, <|endoftext|>, <|im_end|>
        assertThat(qwen2.specialTokens().eos()).isEqualTo(151645);
        assertThat(qwen2.specialTokens().bos()).isEqualTo(151643);
        assertThat(qwen2.specialTokens().addBos()).isFalse();
    }

    @Test
    void qwen2ChatMarkersAndUserDefinedTokens() {
        String chat = "<|im_start|>user\nhi<|im_end|>";
        int[] parsed = qwen2.encode(chat, false, true);
        assertThat(parsed).startsWith(151644).endsWith(151645);
        assertThat(qwen2.decode(parsed)).isEqualTo(chat);
        assertThat(qwen2.encode(chat, false, false)).doesNotContain(151644, 151645);
        // [PAD151646] is user-defined: one token even when special tokens are not parsed
        assertThat(qwen2.encode("x[PAD151646]y", false, false)).contains(151646);
    }

    @Test
    void trainedModelCasesMatchLlamaCpp() throws IOException {
        Map<String, Object> root = read("tiny-starcoder-17m-q8_0.cases.json");
        List<Object> cases = Json.array(root.get("cases"));
        assertThat(cases).hasSize(8);
        for (Object c : cases)
            checkCase(
                    starcoder,
                    Json.object(c),
                    "tiny-starcoder " + Json.object(c).get("name"));
    }

    @Test
    void synthModelPromptsMatchLlamaCpp() throws IOException {
        checkCase(qwen2, read("synth-qwen2-tiny-q8_0.fib.json"), "synth-qwen2 fib");
        checkCase(
                TokenizerFixtures.load(TokenizerFixtures.model("synth-starcoder-tiny-f32.gguf")),
                read("synth-starcoder-tiny-f32.fib.json"),
                "synth-starcoder fib");
    }

    @Test
    void bertEmbeddingFixtureTokenIds() throws IOException {
        Tokenizer bert = TokenizerFixtures.load(TokenizerFixtures.model("synth-bert-tiny-f32.gguf"));
        assertThat(bert.specialTokens().cls()).isEqualTo(101);
        assertThat(bert.specialTokens().sep()).isEqualTo(102);
        for (String file :
                List.of("synth-bert-tiny-f32.embeddings.json", "synth-nomic-bert-tiny-f32.embeddings.json")) {
            for (Object item : Json.array(read(file).get("items"))) {
                Map<String, Object> it = Json.object(item);
                String text = (String) it.get("text");
                assertThat(bert.encode(text, true, true))
                        .as("%s: %s", file, text)
                        .containsExactly(Json.ints(it.get("token_ids")));
            }
        }
    }

    private static void checkCase(Tokenizer tokenizer, Map<String, Object> c, String what) {
        Object parseFlag = c.get("parse_special");
        if (parseFlag == null && c.get("settings") instanceof Map<?, ?> settings)
            parseFlag = settings.get("parse_special");
        boolean parseSpecial = Boolean.TRUE.equals(parseFlag);
        String prompt = (String) c.get("prompt");
        int[] promptTokens = Json.ints(c.get("prompt_tokens"));
        assertThat(tokenizer.encode(prompt, true, parseSpecial))
                .as("%s prompt tokens", what)
                .containsExactly(promptTokens);
        checkPieces(tokenizer, promptTokens, Json.array(c.get("prompt_tokens_pieces_hex")), what + " prompt");

        int[] greedy = Json.ints(c.get("greedy_tokens"));
        checkPieces(tokenizer, greedy, Json.array(c.get("greedy_tokens_pieces_hex")), what + " greedy");
        List<Object> eog = Json.array(c.get("greedy_is_eog"));
        for (int i = 0; i < greedy.length; i++) {
            assertThat(tokenizer.isEndOfGeneration(greedy[i]))
                    .as("%s: is %d end-of-generation", what, greedy[i])
                    .isEqualTo(eog.get(i));
        }
        // streaming the greedy tokens one by one gives the same text as decoding them at once
        StreamingDecoder stream = tokenizer.streamingDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : greedy) streamed.append(stream.push(id));
        streamed.append(stream.flush());
        assertThat(streamed.toString()).as("%s streamed", what).isEqualTo(tokenizer.decode(greedy));
    }

    private static void checkPieces(Tokenizer tokenizer, int[] ids, List<Object> hex, String what) {
        assertThat(hex).hasSize(ids.length);
        for (int i = 0; i < ids.length; i++) {
            assertThat(HexFormat.of().formatHex(tokenizer.tokenBytes(ids[i])))
                    .as("%s: piece of token %d", what, ids[i])
                    .isEqualTo(hex.get(i));
        }
    }

    private static Map<String, Object> read(String file) throws IOException {
        Path path = TokenizerFixtures.root().resolve("expected").resolve(file);
        return Json.object(Json.read(path));
    }

    private static List<Integer> eogIds(Tokenizer tokenizer) {
        return java.util.stream.IntStream.range(0, tokenizer.vocabSize())
                .filter(tokenizer::isEndOfGeneration)
                .boxed()
                .toList();
    }
}
