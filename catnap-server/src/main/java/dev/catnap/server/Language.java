package dev.catnap.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A completion language as Tabby knows it: its line comment (for rendering snippets into the prompt) and
 * the keywords that start a new top-level item (which end a completion). Unknown languages have an empty
 * comment, so they stop at the first newline.
 */
record Language(String id, Optional<String> lineComment, List<String> topLevelKeywords) {

    static final Language UNKNOWN = new Language("unknown", Optional.of(""), List.of());

    private static final List<String> DEFAULT_STOP_WORDS = List.of(
            "\n\n",
            "\n\n  ",
            "\n\n    ",
            "\n\n      ",
            "\n\n        ",
            "\n\n          ",
            "\n\n            ",
            "\n\n              ",
            "\n\n\t",
            "\n\n\t\t",
            "\n\n\t\t\t",
            "\n\n\t\t\t\t",
            "\n\n\t\t\t\t\t",
            "\n\n\t\t\t\t\t\t",
            "\n\n\t\t\t\t\t\t\t",
            "<fim_prefix>",
            "<fim_suffix>",
            "<fim_middle>",
            "<file_sep>",
            " <EOT>",
            "<|fim_prefix|>",
            "<|fim_suffix|>",
            "<|fim_middle|>",
            "<|file_separator|>",
            "<|system|>",
            "<|user|>",
            "<|end|>",
            "<|assistant|>");

    /** Tabby's table, read once per server; later lines win, as in Tabby (perl appears twice there). */
    static Map<String, Language> table() {
        var in = Language.class.getResourceAsStream("languages.txt");
        if (in == null) throw new IllegalStateException("languages.txt missing from the catnap-server jar");
        var table = new HashMap<String, Language>();
        try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] cols = line.split("\\|", -1);
                if (cols.length != 3) throw new IllegalStateException("bad languages.txt line: " + line);
                String comment = cols[1].strip();
                List<String> keywords = cols[2].isBlank()
                        ? List.of()
                        : Arrays.asList(cols[2].strip().split("\\s+"));
                for (String id : cols[0].strip().split("\\s+")) {
                    table.put(
                            id,
                            new Language(id, comment.equals("-") ? Optional.empty() : Optional.of(comment), keywords));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.copyOf(table);
    }

    static Language lookup(Map<String, Language> table, String id) {
        return id == null ? UNKNOWN : table.getOrDefault(id, UNKNOWN);
    }

    List<String> stopWords() {
        var words = new ArrayList<>(DEFAULT_STOP_WORDS);
        lineComment.ifPresent(c -> words.add("\n" + c));
        for (String kw : topLevelKeywords) words.add("\n" + kw);
        return words;
    }
}
