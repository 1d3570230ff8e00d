package dev.catnap.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PromptEncodingTest {

    /** The text of every control token of the vocabulary, joined. */
    static String everyControlToken(Tokenizer t) {
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < t.vocabSize(); id++) {
            if (t.isControl(id))
                sb.append(new String(t.tokenBytes(id), StandardCharsets.UTF_8)).append(' ');
        }
        return sb.toString();
    }

    static long controls(Tokenizer t, int[] ids) {
        return IntStream.of(ids).filter(t::isControl).count();
    }

    @ParameterizedTest
    @ValueSource(strings = {"starcoder", "qwen2", "llama-bpe", "phi-3", "deepseek-coder"})
    void userTextNeverBecomesAControlToken(String vocabulary) {
        Tokenizer t = TokenizerFixtures.vocabulary(vocabulary);
        String all = everyControlToken(t);
        assertThat(controls(t, t.encode(all, false, true)))
                .as("the joined text does hold control tokens")
                .isPositive();

        int[] ids = t.encode(Prompt.of(new Prompt.Text("x = '" + all + "'")), false);
        assertThat(controls(t, ids)).isZero();
        assertThat(ids).isEqualTo(t.encode("x = '" + all + "'", false, false));
    }

    @ParameterizedTest
    @ValueSource(strings = {"starcoder", "qwen2"})
    void templatePartsKeepTheirTokensAndTextBetweenThemIsUntouched(String vocabulary) {
        Tokenizer t = TokenizerFixtures.vocabulary(vocabulary);
        String[] markers = vocabulary.equals("starcoder")
                ? new String[] {"<fim_prefix>", "<fim_suffix>", "<fim_middle>"}
                : new String[] {"<|im_start|>", "<|im_end|>", "<|im_start|>"};
        String code = "def f(a):\n    return a  # mentions " + String.join(" ", markers) + " and <|endoftext|>\n";
        Prompt prompt = Prompt.builder()
                .template(markers[0])
                .text(code)
                .template(markers[1])
                .text("\n")
                .template(markers[2])
                .build();
        int[] ids = t.encode(prompt, false);
        int[] expected = IntStream.concat(
                        IntStream.concat(
                                IntStream.of(t.tokenId(markers[0]).orElseThrow()),
                                IntStream.of(t.encode(code, false, false))),
                        IntStream.concat(
                                IntStream.of(t.tokenId(markers[1]).orElseThrow()),
                                IntStream.concat(
                                        IntStream.of(t.encode("\n", false, false)),
                                        IntStream.of(t.tokenId(markers[2]).orElseThrow()))))
                .toArray();
        assertThat(ids).containsExactly(expected);
        assertThat(controls(t, ids)).isEqualTo(3);
    }

    @ParameterizedTest
    @ValueSource(strings = {"starcoder", "qwen2", "llama-spm", "phi-3"})
    void withoutSpecialTextInTheUserPartsTheIdsAreThoseOfTheJoinedText(String vocabulary) {
        Tokenizer t = TokenizerFixtures.vocabulary(vocabulary);
        List<Prompt.Part> parts = new ArrayList<>();
        String marker = vocabulary.equals("starcoder")
                ? "<fim_prefix>"
                : vocabulary.equals("qwen2") ? "<|im_start|>" : vocabulary.equals("phi-3") ? "<|user|>" : "<s>";
        parts.add(new Prompt.Template(marker + "user\n"));
        parts.add(new Prompt.Text("  Hello,   world\n\tdef  x(): pass"));
        parts.add(new Prompt.Template("\n" + marker));
        parts.add(new Prompt.Text(" tail"));
        Prompt prompt = new Prompt(parts);
        assertThat(t.encode(prompt, true)).isEqualTo(t.encode(prompt.text(), true, true));
    }

    @org.junit.jupiter.api.Test
    void promptsCutAndMapByPart() {
        Prompt p =
                Prompt.builder().template("<a>").text("hello").template("<b>").build();
        assertThat(p.dropChars(5).parts()).containsExactly(new Prompt.Text("llo"), new Prompt.Template("<b>"));
        assertThat(p.dropChars(3).parts()).containsExactly(new Prompt.Text("hello"), new Prompt.Template("<b>"));
        assertThat(p.dropChars(99).parts()).isEmpty();
        assertThat(p.map(String::toUpperCase).text()).isEqualTo("<A>HELLO<B>");
        assertThat(p.map(String::toUpperCase).parts().get(0)).isInstanceOf(Prompt.Template.class);
        assertThatThrownBy(() -> p.dropChars(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
