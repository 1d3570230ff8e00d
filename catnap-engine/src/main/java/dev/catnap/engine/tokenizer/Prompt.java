package dev.catnap.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A prompt as data: the text of its format ({@link Template}: FIM markers, a chat template's turn markers), whose
 * special-token text stands for those tokens, and the user's text ({@link Text}: code, snippets, messages), which
 * never becomes a control token however much it looks like one. A file that mentions {@code <|endoftext|>} is then
 * code to complete, not the end of the prompt.
 *
 * <p>{@link Tokenizer#encode(Prompt, boolean)} encodes the joined text once, as llama.cpp encodes a prompt with
 * special parsing on, except that control-token text counts only where it lies wholly inside a {@link Template}
 * part. A prompt whose user text holds no special-token text therefore gets exactly the ids of the joined string.
 */
public record Prompt(List<Part> parts) {

    public Prompt {
        parts = List.copyOf(parts);
    }

    /** One piece of a prompt. */
    public sealed interface Part permits Template, Text {
        String text();
    }

    /** Text of the prompt's format: its special-token text is those tokens. */
    public record Template(String text) implements Part {}

    /** Text from the user: tokenized as plain text (user-defined tokens aside, as llama.cpp does). */
    public record Text(String text) implements Part {}

    public static Prompt of(Part... parts) {
        return new Prompt(List.of(parts));
    }

    /** The prompt as one string (for stop rules, logs and {@code debug_options.return_prompt}). */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (Part p : parts) sb.append(p.text());
        return sb.toString();
    }

    /** Every part's text mapped by {@code f}, each part keeping its kind. */
    public Prompt map(UnaryOperator<String> f) {
        List<Part> out = new ArrayList<>(parts.size());
        for (Part p : parts) {
            String t = f.apply(p.text());
            out.add(p instanceof Template ? new Template(t) : new Text(t));
        }
        return new Prompt(out);
    }

    /** The prompt without its first {@code chars} characters (a part cut in two keeps its kind). */
    public Prompt dropChars(int chars) {
        if (chars < 0) throw new IllegalArgumentException("chars must not be negative");
        List<Part> out = new ArrayList<>(parts.size());
        int left = chars;
        for (Part p : parts) {
            int len = p.text().length();
            if (left >= len) {
                left -= len;
                continue;
            }
            if (left == 0) {
                out.add(p);
            } else {
                String t = p.text().substring(left);
                out.add(p instanceof Template ? new Template(t) : new Text(t));
                left = 0;
            }
        }
        return new Prompt(out);
    }

    /** This prompt followed by {@code other}'s parts. */
    public Prompt then(Prompt other) {
        List<Part> out = new ArrayList<>(parts);
        out.addAll(other.parts);
        return new Prompt(out);
    }

    /** Builds a prompt part by part. */
    public static final class Builder {
        private final List<Part> parts = new ArrayList<>();

        public Builder template(String text) {
            if (!text.isEmpty()) parts.add(new Template(text));
            return this;
        }

        public Builder text(String text) {
            if (!text.isEmpty()) parts.add(new Text(text));
            return this;
        }

        public Prompt build() {
            return new Prompt(parts);
        }
    }

    public static Builder builder() {
        return new Builder();
    }
}
