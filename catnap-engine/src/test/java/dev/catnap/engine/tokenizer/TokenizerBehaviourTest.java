package dev.catnap.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.gguf.GGUFMetadata;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Special tokens, BOS/EOS rules, decoding and streaming, and the errors for what is not supported. */
class TokenizerBehaviourTest {
    private static Tokenizer starcoder;
    private static Tokenizer spm;

    @BeforeAll
    static void load() {
        starcoder = TokenizerFixtures.vocabulary("starcoder");
        spm = TokenizerFixtures.vocabulary("llama-spm");
    }

    @Test
    void specialTokenTextIsOneTokenOnlyWhenAsked() {
        String prompt = "<fim_prefix>def f(<fim_suffix>)\n<fim_middle>";
        int[] parsed = starcoder.encode(prompt, false, true);
        assertThat(parsed[0]).isEqualTo(1);
        assertThat(parsed[parsed.length - 1]).isEqualTo(2);
        assertThat(parsed).contains(3);
        assertThat(starcoder.decode(parsed)).isEqualTo(prompt);

        int[] plain = starcoder.encode(prompt, false, false);
        assertThat(plain).doesNotContain(1, 2, 3);
        assertThat(starcoder.decode(plain)).isEqualTo(prompt);
    }

    @Test
    void sentencePiecePrefixesASpaceAfterEachSpecialToken() {
        // <s> is 1; "▁Hello" 15043, "▁world" 3186
        assertThat(spm.encode("Hello<s>world", false, true)).containsExactly(15043, 1, 3186);
        assertThat(spm.encode("Hello", true, false)).containsExactly(1, 15043);
        assertThat(spm.encode("", true, false)).containsExactly(1);
        assertThat(spm.encode("", false, false)).isEmpty();
    }

    @Test
    void phi3SpecialTokensSwallowTheWhitespaceAfterThem() {
        // llama.cpp gives Phi-3's control tokens the rstrip attribute, as the Hugging Face tokenizer does
        Tokenizer phi3 = TokenizerFixtures.vocabulary("phi-3");
        int[] ids = phi3.encode("<|user|>\n  Hi<|end|>", false, true);
        assertThat(ids).startsWith(32010).endsWith(32007);
        assertThat(ids).isEqualTo(phi3.encode("<|user|>Hi<|end|>", false, true));
    }

    @Test
    void addSpecialFollowsEachVocabularysRules() {
        assertThat(TokenizerFixtures.vocabulary("llama-bpe").encode("Hi", true, false)[0])
                .as("llama3 adds BOS by default")
                .isEqualTo(128000);
        assertThat(TokenizerFixtures.vocabulary("deepseek-coder").encode("Hi", true, false)[0])
                .as("add_bos_token = true")
                .isEqualTo(32013);
        Tokenizer bert = TokenizerFixtures.vocabulary("bert-bge");
        int[] ids = bert.encode("hello world", true, false);
        assertThat(ids[0]).isEqualTo(101);
        assertThat(ids[ids.length - 1]).isEqualTo(102);
        assertThat(bert.decode(ids)).isEqualTo("[CLS] hello world[SEP]");
    }

    @Test
    void byteLevelDecodeRestoresTheText() {
        for (String text : List.of("def fib(n):\n    return fib(n - 1)", "naïve café ½ — 🦙 你好\t\r\n", "   ", "")) {
            assertThat(starcoder.decode(starcoder.encode(text, false, false))).isEqualTo(text);
        }
        assertThat(spm.decode(spm.encode("Hello world 🦙", false, false))).isEqualTo(" Hello world 🦙");
    }

    @Test
    void streamingNeverEmitsABrokenCharacter() {
        String text = "x = '🦙é你' # ✅";
        for (Tokenizer tokenizer : List.of(starcoder, spm)) {
            int[] ids = tokenizer.encode(text, false, false);
            StreamingDecoder decoder = tokenizer.streamingDecoder();
            StringBuilder all = new StringBuilder();
            List<String> chunks = new ArrayList<>();
            for (int id : ids) {
                String chunk = decoder.push(id);
                chunks.add(chunk);
                all.append(chunk);
            }
            all.append(decoder.flush());
            assertThat(chunks).allSatisfy(c -> assertThat(c).doesNotContain("\uFFFD"));
            assertThat(all.toString()).isEqualTo(tokenizer.decode(ids));
        }
        // the llama emoji is four byte-fallback tokens in the SentencePiece vocabulary: nothing until the last one
        StreamingDecoder decoder = spm.streamingDecoder();
        int[] llama = {243, 162, 169, 156};
        assertThat(decoder.push(llama[0])).isEmpty();
        assertThat(decoder.push(llama[1])).isEmpty();
        assertThat(decoder.push(llama[2])).isEmpty();
        assertThat(decoder.push(llama[3])).isEqualTo("🦙");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void streamingReplacesBytesThatCanNeverComplete() {
        StreamingDecoder decoder = spm.streamingDecoder();
        assertThat(decoder.push(243)).isEmpty(); // 0xF0: lead of a 4-byte sequence
        assertThat(decoder.push(15043)).isEqualTo("\uFFFD Hello");
        assertThat(decoder.push(243)).isEmpty();
        assertThat(decoder.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void completePrefixHoldsBackOnlyAnUnfinishedCharacter() {
        byte[] e = "é".getBytes(StandardCharsets.UTF_8);
        byte[] llama = "🦙".getBytes(StandardCharsets.UTF_8);
        assertThat(Utf8StreamingDecoder.completePrefix(new byte[] {'a', e[0]}, 2))
                .isEqualTo(1);
        assertThat(Utf8StreamingDecoder.completePrefix(new byte[] {'a', e[0], e[1]}, 3))
                .isEqualTo(3);
        assertThat(Utf8StreamingDecoder.completePrefix(new byte[] {llama[0], llama[1], llama[2]}, 3))
                .isZero();
        assertThat(Utf8StreamingDecoder.completePrefix(llama, 4)).isEqualTo(4);
        assertThat(Utf8StreamingDecoder.completePrefix(new byte[] {(byte) 0x80}, 1))
                .isEqualTo(1);
        assertThat(Utf8StreamingDecoder.completePrefix(new byte[] {(byte) 0xFF}, 1))
                .isEqualTo(1);
    }

    @Test
    void piecesAreLlamaCppPieces() {
        assertThat(new String(starcoder.tokenBytes(0), StandardCharsets.UTF_8)).isEqualTo("<|endoftext|>");
        assertThat(spm.tokenBytes(13)).containsExactly('\n'); // <0x0A>
        assertThat(new String(spm.tokenBytes(15043), StandardCharsets.UTF_8)).isEqualTo(" Hello");
        assertThat(starcoder.tokenId("<fim_middle>")).hasValue(2);
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        assertThatThrownBy(() -> starcoder.tokenBytes(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token id -1");
        assertThatThrownBy(() -> starcoder.decode(new int[] {49152}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside the vocabulary");
        assertThat(starcoder.isEndOfGeneration(-1)).isFalse();
        assertThat(starcoder.isEndOfGeneration(1 << 20)).isFalse();
    }

    @Test
    void unsupportedTokenizersAreNamed() {
        Map<String, Object> base =
                Map.of("tokenizer.ggml.tokens", List.of("a", "b"), "tokenizer.ggml.merges", List.of("a b"));
        assertThatThrownBy(() -> Tokenizer.fromGGUF(metadata(base, "tokenizer.ggml.model", "t5")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tokenizer.ggml.model 't5'");
        assertThatThrownBy(() -> Tokenizer.fromGGUF(metadata(
                        metadata(base, "tokenizer.ggml.model", "gpt2").asMap(), "tokenizer.ggml.pre", "tekken")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tokenizer.ggml.pre 'tekken'");
        assertThatThrownBy(() -> Tokenizer.fromGGUF(new GGUFMetadata(Map.of("general.architecture", "llama"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tokenizer.ggml.model is missing");
        assertThatThrownBy(() -> Tokenizer.fromGGUF(
                        metadata(Map.of("tokenizer.ggml.tokens", List.of("a", "a")), "tokenizer.ggml.model", "llama")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("twice");
    }

    @Test
    void aTinyHandMadeBpeVocabularyMergesByRank() {
        // tokens: the bytes a, b, c and merges "a b" (rank 0) then "ab c" (rank 1)
        // plus a user-defined token <tag> (type 4) and a control token <ctl> (type 3)
        Map<String, Object> md = Map.of(
                "tokenizer.ggml.model",
                "gpt2",
                "tokenizer.ggml.pre",
                "gpt-2",
                "tokenizer.ggml.tokens",
                List.of("a", "b", "c", "ab", "abc", "Ġ", "<tag>", "<ctl>"),
                "tokenizer.ggml.token_type",
                new int[] {1, 1, 1, 1, 1, 1, 4, 3},
                "tokenizer.ggml.merges",
                List.of("a b", "ab c"));
        Tokenizer tiny = Tokenizer.fromGGUF(new GGUFMetadata(md));
        assertThat(tiny.encode("abc", false, false)).containsExactly(4);
        assertThat(tiny.encode("abcab cb", false, false)).containsExactly(4, 3, 5, 2, 1);
        assertThat(tiny.decode(new int[] {4, 5})).isEqualTo("abc ");
        assertThat(tiny.specialTokens().bos())
                .as("the gpt2 default 11 is outside this vocabulary")
                .isEqualTo(-1);
        // user-defined tokens are cut out of the text even when special tokens are not parsed; control tokens are not
        assertThat(tiny.encode("ab<tag>c", false, false)).containsExactly(3, 6, 2);
        assertThat(tiny.encode("ab<ctl>", false, true)).containsExactly(3, 7);
        assertThat(tiny.encode("ab<ctl>", false, false)).doesNotContain(7);
    }

    @Test
    void aTinyHandMadeSentencePieceVocabularyMergesByScore() {
        // bc (score 2) beats ab (1), then ▁a (-1) is the only pair left; d exists only as a byte token
        Map<String, Object> md = Map.of(
                "tokenizer.ggml.model",
                "llama",
                "tokenizer.ggml.tokens",
                List.of("<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "ab", "bc", "\u2581a", "<0x64>"),
                "tokenizer.ggml.scores",
                new float[] {0, 0, 0, -5, -2, -2, -2, 1, 2, -1, 0},
                "tokenizer.ggml.token_type",
                new int[] {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6});
        Tokenizer tiny = Tokenizer.fromGGUF(new GGUFMetadata(md));
        assertThat(tiny.encode("abc", false, false)).containsExactly(9, 8);
        assertThat(tiny.encode("abcd", true, false)).containsExactly(1, 9, 8, 10);
        assertThat(tiny.decode(new int[] {9, 8, 10})).isEqualTo(" abcd");
    }

    private static GGUFMetadata metadata(Map<String, Object> base, String key, Object value) {
        Map<String, Object> m = new java.util.LinkedHashMap<>(base);
        m.put(key, value);
        return new GGUFMetadata(m);
    }
}
