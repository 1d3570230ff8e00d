package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.gguf.GGUFFile;
import dev.catnap.engine.tokenizer.Prompt;
import dev.catnap.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Code that mentions special tokens (Tabby's own sources, any tokenizer) must reach the model as code: in the prefix,
 * the suffix, a snippet or a chat message, the text of every control token stays plain text, and the only control
 * tokens of the prompt are the template's.
 */
class SpecialTokenTextTest {

    private static Tokenizer tokenizer(String model) throws IOException {
        Path file = Fixtures.model(model);
        try (GGUFFile gguf = GGUFFile.open(file)) {
            return Tokenizer.fromGGUF(gguf.metadata());
        }
    }

    private static String everyControlToken(Tokenizer t) {
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < t.vocabSize(); id++) {
            if (t.isControl(id))
                sb.append("x")
                        .append(new String(t.tokenBytes(id), StandardCharsets.UTF_8))
                        .append("\n");
        }
        return sb.toString();
    }

    private static int[] controls(Tokenizer t, int[] ids) {
        return IntStream.of(ids).filter(t::isControl).toArray();
    }

    @Test
    void aCompletionPromptsOnlyControlTokensAreItsTemplates() throws IOException {
        Tokenizer t = tokenizer("tiny-starcoder-17m-q8_0.gguf");
        String all = everyControlToken(t);
        assertThat(all).contains("<fim_prefix>", "<fim_middle>", "<|endoftext|>");
        String template = EngineTextModel.fimTemplate(t).orElseThrow();
        var snippet = new CompletionPrompt.Snippet("tokenizer.py", "SPECIALS = '''\n" + all + "'''", 1);
        var python = Language.lookup(Language.table(), "python");
        var special = t.specialTokens();
        // the prefix and a snippet; then the suffix (all three at once would pass the 1536-byte prompt budget)
        var prefixAndSnippet = new CompletionPrompt.Segments(
                "# " + all + "def f(", Optional.of(")"), List.of(snippet), List.of(), List.of());
        var suffix = new CompletionPrompt.Segments(
                "def f(", Optional.of(") # {prefix} " + all), List.of(), List.of(), List.of());
        for (var segments : List.of(prefixAndSnippet, suffix)) {
            var built = CompletionPrompt.build(segments, python, Optional.of(template), false);
            assertThat(built.prompt().text()).contains(all.strip(), "def f(");
            int[] ids = t.encode(built.prompt(), true);
            assertThat(controls(t, ids)).containsExactly(special.fimPrefix(), special.fimSuffix(), special.fimMiddle());
            // what the same text gave before prompts were data: the code's markers were control tokens
            assertThat(controls(t, t.encode(built.prompt().text(), true, true)).length)
                    .isGreaterThan(3);
        }
        var withSnippet = CompletionPrompt.build(prefixAndSnippet, python, Optional.of(template), false);
        assertThat(withSnippet.snippets()).hasSize(1);
        assertThat(withSnippet.prompt().text()).contains("SPECIALS = '''");
        assertThat(CompletionPrompt.build(suffix, python, Optional.of(template), false)
                        .prompt()
                        .text())
                .contains(") # {prefix} ");
    }

    @Test
    void aChatMessageThatQuotesTheTemplatesMarkersStaysInsideItsTurn() throws IOException {
        Tokenizer t = tokenizer("synth-qwen2-tiny-q8_0.gguf");
        String all = everyControlToken(t);
        assertThat(all).contains("<|im_start|>", "<|im_end|>");
        var chat = new ChatTemplate(ChatTemplate.Shape.CHATML, Optional.empty());
        Prompt prompt = chat.render(List.of(new ChatTemplate.Message("user", "What do these mean?\n" + all)));
        int start = t.tokenId("<|im_start|>").orElseThrow(),
                end = t.tokenId("<|im_end|>").orElseThrow();
        assertThat(controls(t, t.encode(prompt, true))).containsExactly(start, end, start);
    }
}
