package dev.catnap.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every case of llama.cpp's tokenizer test files ({@code vocab/*.inp} and {@code .out}), for all nine vocabularies,
 * encoded as test-tokenizer-0 does: no BOS/EOS added, special-token text treated as plain text.
 */
class VocabConformanceTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    @TestFactory
    Stream<DynamicContainer> everyCaseOfEveryVocabulary() {
        return TokenizerFixtures.VOCABULARIES.stream()
                .map(name -> DynamicContainer.dynamicContainer(
                        name, Stream.of(DynamicTest.dynamicTest("all cases", () -> checkVocabulary(name)))));
    }

    private static void checkVocabulary(String name) throws IOException {
        Path gguf = TokenizerFixtures.vocab(name);
        List<String> texts = cases(gguf);
        List<String> expected = Files.readAllLines(Path.of(gguf + ".out"));
        assertThat(texts).as("cases in %s.inp", name).hasSize(46).hasSameSizeAs(expected);

        Tokenizer tokenizer = TokenizerFixtures.load(gguf);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            int[] want = ids(expected.get(i));
            int[] got = tokenizer.encode(texts.get(i), false, false);
            if (!Arrays.equals(want, got)) {
                failures.add("case " + i + " " + texts.get(i).replace("\n", "\\n") + ": expected "
                        + Arrays.toString(want) + " got " + Arrays.toString(got));
            }
        }
        assertThat(failures).as("%s cases that differ from llama.cpp", name).isEmpty();
    }

    static List<String> cases(Path gguf) {
        try {
            String all = Files.readString(Path.of(gguf + ".inp"));
            List<String> texts = new ArrayList<>(Arrays.asList(all.split(SEPARATOR, -1)));
            if (texts.getLast().isEmpty()) texts.removeLast(); // the remainder after the last separator
            return texts;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] ids(String line) {
        String trimmed = line.trim();
        if (trimmed.isEmpty()) return new int[0];
        return Arrays.stream(trimmed.split(" ")).mapToInt(Integer::parseInt).toArray();
    }
}
