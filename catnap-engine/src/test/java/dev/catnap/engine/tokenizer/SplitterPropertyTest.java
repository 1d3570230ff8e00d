package dev.catnap.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The hand-written scanners cut text exactly where their regular expressions do, on strings built from the characters
 * where the patterns differ: letters and numbers of several scripts, Unicode spaces, newlines, quotes and the letters
 * of contractions, punctuation, combining marks, joiners and surrogate pairs.
 */
class SplitterPropertyTest {
    private static final String[] ALPHABET = {
        "a", "Z", "s", "S", "t", "r", "e", "E", "v", "m", "l", "L", "d", "é", "ж", "中", "ß", "0", "7", "٣", "½", "Ⅻ",
        " ", " ", " ", "\t", "\n", "\r", "\u000B", "\u00A0", "\u3000", "\u2009", "'", "!", "(", ".", "-", "_", "\u0301",
        "\u200D", "🦙", "😶", "𝔸"
    };

    @Provide
    Arbitrary<String> texts() {
        return Arbitraries.of(ALPHABET).list().ofMinSize(0).ofMaxSize(24).map(parts -> String.join("", parts));
    }

    @Property(tries = 3000)
    void gpt2(@ForAll("texts") String text) {
        assertSameSplit(new Splitter.Gpt2(), PreTokenizer.GPT2, text);
    }

    @Property(tries = 3000)
    void llama3(@ForAll("texts") String text) {
        assertSameSplit(new Splitter.Llama3(3), PreTokenizer.LLAMA3, text);
    }

    @Property(tries = 3000)
    void qwen2(@ForAll("texts") String text) {
        assertSameSplit(new Splitter.Llama3(1), PreTokenizer.QWEN2, text);
    }

    @Property(tries = 1000)
    void singleNumbers(@ForAll("texts") String text) {
        assertSameSplit(new Splitter.SingleNumbers(), "\\p{N}", text);
    }

    @Property(tries = 1000)
    void aSubRangeIsSplitOnItsOwn(@ForAll("texts") String text) {
        // a step sees only its piece: lookahead must not peek past the end
        String padded = "x" + text + "a";
        List<String> native_ = pieces(new Splitter.Gpt2(), padded, 1, padded.length() - 1);
        List<String> regex = pieces(Splitter.Regex.of(PreTokenizer.GPT2), padded, 1, padded.length() - 1);
        assertThat(native_).isEqualTo(regex);
    }

    private static void assertSameSplit(Splitter scanner, String regex, String text) {
        assertThat(pieces(scanner, text, 0, text.length()))
                .as("split of %s", escape(text))
                .isEqualTo(pieces(Splitter.Regex.of(regex), text, 0, text.length()));
    }

    private static List<String> pieces(Splitter splitter, String text, int start, int end) {
        Splitter.Bounds bounds = new Splitter.Bounds();
        splitter.split(text, start, end, bounds);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < bounds.count; i++) out.add(text.substring(bounds.start(i), bounds.end(i)));
        return out;
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints()
                .forEach(
                        cp -> b.append(cp < 0x20 || cp > 0x7E ? String.format("\\u{%x}", cp) : Character.toString(cp)));
        return b.toString();
    }
}
