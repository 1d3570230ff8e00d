package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CompletionPromptTest {
    static final Map<String, Language> LANGUAGES = Language.table();
    static final Optional<String> FIM = Optional.of("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");

    static CompletionPrompt.Segments segments(
            String prefix,
            String suffix,
            List<CompletionPrompt.Snippet> declarations,
            List<CompletionPrompt.Snippet> changed,
            List<CompletionPrompt.Snippet> recent) {
        return new CompletionPrompt.Segments(prefix, Optional.ofNullable(suffix), declarations, changed, recent);
    }

    @Test
    void snippetBudgetIsFilledInOrderAndEachListStopsAtTheFirstMisfit() {
        var big = new CompletionPrompt.Snippet("big.py", "x".repeat(700), 0.9);
        var small = new CompletionPrompt.Snippet("small.py", "y".repeat(60), 0.8);
        var tiny = new CompletionPrompt.Snippet("tiny.py", "z".repeat(8), 0.7);
        var picked =
                CompletionPrompt.collect(segments("p", null, List.of(big, small), List.of(small, tiny), List.of(tiny)));
        // 700 fits, 60 does not (68 left) and ends the declarations; in changed files 60 fits, then 8 fits (0 left);
        // recent: none fits.
        assertThat(picked)
                .extracting(CompletionPrompt.Snippet::filepath)
                .containsExactly("big.py", "small.py", "tiny.py");
        assertThat(picked).allSatisfy(s -> assertThat(s.score()).isEqualTo(1.0));
        var stopsAtFirst = CompletionPrompt.collect(segments("p", null, List.of(), List.of(big, big, tiny), List.of()));
        assertThat(stopsAtFirst).hasSize(1);
    }

    @Test
    void snippetsAreCommentLinesAndDroppedForLanguagesWithoutComments() {
        var s = new CompletionPrompt.Snippet("a.py", "def a():\n\n    pass\n", 1);
        var t = new CompletionPrompt.Snippet("b.py", "b = 1", 1);
        assertThat(CompletionPrompt.withSnippets("x", List.of(s, t), "#"))
                .isEqualTo("# Path: a.py\n# def a():\n#\n#     pass\n#\n# Path: b.py\n# b = 1\nx");
        var css = CompletionPrompt.build(
                segments("a {", "}", List.of(t), List.of(), List.of()), Language.lookup(LANGUAGES, "css"), FIM, false);
        assertThat(css.prompt().text()).isEqualTo("<fim_prefix>a {<fim_suffix>}<fim_middle>");
        var unknown = CompletionPrompt.build(
                segments("q", "", List.of(t), List.of(), List.of()), Language.lookup(LANGUAGES, "cobol"), FIM, false);
        assertThat(unknown.prompt().text()).isEqualTo("<fim_prefix> Path: b.py\n b = 1\nq<fim_suffix>\n<fim_middle>");
        var disabled = CompletionPrompt.build(
                segments("q", "", List.of(t), List.of(), List.of()), Language.lookup(LANGUAGES, "python"), FIM, true);
        assertThat(disabled.snippets()).isEmpty();
    }

    @Test
    void withoutTemplateThePromptIsThePrefix() {
        var built = CompletionPrompt.build(
                segments("abc", "def", List.of(), List.of(), List.of()), Language.UNKNOWN, Optional.empty(), false);
        assertThat(built.prompt().text()).isEqualTo("abc");
    }

    @Test
    void clippingKeepsTheLeadingTokenAndUtf8Boundaries() {
        String prompt = "<fim_prefix>" + "é".repeat(1000) + "<fim_suffix>\n<fim_middle>";
        String clipped = CompletionPrompt.clip(template(prompt), "<fim_prefix>").text();
        assertThat(clipped).startsWith("<fim_prefix>é").endsWith("<fim_suffix>\n<fim_middle>");
        assertThat(clipped.getBytes(StandardCharsets.UTF_8).length).isBetween(1535, 1536);
        String raw = "a".repeat(2000) + "€";
        String rawClipped = CompletionPrompt.clip(template(raw), "").text();
        assertThat(rawClipped.getBytes(StandardCharsets.UTF_8)).hasSize(1536);
        assertThat(rawClipped).endsWith("a€");
        assertThat(CompletionPrompt.clip(template("short"), "<fim_prefix>").text())
                .isEqualTo("short");
        assertThat(CompletionPrompt.leadingToken("<PRE> {prefix} <SUF>{suffix} <MID>"))
                .isEqualTo("<PRE> ");
    }

    @Test
    void crlfIsFoldedInThePromptAndRestoredInTheOutput() {
        var built = CompletionPrompt.build(
                segments("a\r\nb", "c\r\n", List.of(), List.of(), List.of()), Language.UNKNOWN, FIM, false);
        assertThat(built.crlf()).isTrue();
        assertThat(built.prompt().text()).isEqualTo("<fim_prefix>a\nb<fim_suffix>c\n<fim_middle>");
        assertThat(CompletionPrompt.restoreCrlf("x\ny\r\nz\n")).isEqualTo("x\r\ny\r\nz\r\n");
        assertThat(CompletionPrompt.utf8Length("aé€😀")).isEqualTo(1 + 2 + 3 + 4);
    }

    @Test
    void languageTableHasTabbysStopWords() {
        assertThat(Language.lookup(LANGUAGES, "python").stopWords())
                .contains("\n\n", "\n#", "\ndef", "\nfrom", "\nclass", "\nimport", "<fim_prefix>");
        assertThat(Language.lookup(LANGUAGES, "typescriptreact").stopWords()).contains("\n//", "\nfunction", "\nlet");
        assertThat(Language.lookup(LANGUAGES, "java").stopWords()).contains("\nreturn", "\npackage");
        assertThat(Language.lookup(LANGUAGES, "perl").lineComment()).contains("#");
        assertThat(Language.lookup(LANGUAGES, "sql").stopWords()).doesNotContain("\n");
        assertThat(Language.lookup(LANGUAGES, null).stopWords()).contains("\n");
    }

    @Test
    void retrievedSnippetsFollowTheClientsWithinTheBudgetWithoutTheCursorsFileOrCopies() {
        var client = new CompletionPrompt.Snippet("a.py", "c".repeat(100), 0.9);
        var same = new CompletionPrompt.Snippet("app/cursor.py", "s".repeat(50), 0.05);
        var copy = new CompletionPrompt.Snippet("elsewhere.py", "c".repeat(100), 0.04);
        var fits = new CompletionPrompt.Snippet("lib/x.py", "x".repeat(400), 0.03);
        var tooBig = new CompletionPrompt.Snippet("lib/y.py", "y".repeat(300), 0.02);
        var small = new CompletionPrompt.Snippet("lib/z.py", "z".repeat(10), 0.01);
        var seg = new CompletionPrompt.Segments(
                "p",
                Optional.empty(),
                List.of(client),
                List.of(),
                List.of(),
                Optional.of("app/cursor.py"),
                Optional.of("https://example.invalid/r.git"));
        var asked = new java.util.ArrayList<Integer>();
        CompletionPrompt.Retrieval retrieval = (s, language, remaining) -> {
            asked.add(remaining);
            assertThat(language).isEqualTo("python");
            return List.of(same, copy, fits, tooBig, small);
        };
        var built = CompletionPrompt.build(seg, Language.lookup(LANGUAGES, "python"), FIM, false, retrieval);
        // 768 - 100 = 668 left; 400 fits (268 left); 300 does not and ends the list, as Tabby's loop does
        assertThat(asked).containsExactly(668);
        assertThat(built.snippets())
                .extracting(CompletionPrompt.Snippet::filepath)
                .containsExactly("a.py", "lib/x.py");
        assertThat(built.snippets().get(1).score()).isEqualTo(0.03);
        assertThat(built.prompt().text())
                .startsWith("<fim_prefix># Path: a.py\n# ccc")
                .contains("# Path: lib/x.py\n# xxx");

        // at most 256 bytes left after the client's snippets: the index is not asked
        asked.clear();
        var big = new CompletionPrompt.Snippet("big.py", "b".repeat(520), 1);
        var full = new CompletionPrompt.Segments(
                "p", Optional.empty(), List.of(big), List.of(), List.of(), Optional.empty(), Optional.of("u"));
        assertThat(CompletionPrompt.build(full, Language.lookup(LANGUAGES, "python"), FIM, false, retrieval)
                        .snippets())
                .hasSize(1);
        assertThat(asked).isEmpty();
        // disabled: neither kind
        assertThat(CompletionPrompt.build(seg, Language.lookup(LANGUAGES, "python"), FIM, true, retrieval)
                        .snippets())
                .isEmpty();
        assertThat(asked).isEmpty();
    }

    private static dev.catnap.engine.tokenizer.Prompt template(String text) {
        return dev.catnap.engine.tokenizer.Prompt.of(new dev.catnap.engine.tokenizer.Prompt.Template(text));
    }
}
