package dev.catnap.server;

import dev.catnap.engine.tokenizer.Prompt;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds the text a completion model sees, the way Tabby does: client snippets rendered as comments above
 * the prefix (768-byte budget), the model's FIM template, CRLF folded to LF, then clipped to 1536 bytes from
 * the front. Unlike Tabby, clipping keeps the template's leading special token (such as {@code <fim_prefix>}),
 * without which a FIM model no longer sees a FIM prompt.
 */
final class CompletionPrompt {
    static final int SNIPPET_BUDGET_BYTES = 768;
    static final int MAX_PROMPT_BYTES = 1536;

    record Snippet(String filepath, String body, double score) {}

    /** Tabby asks the code index only when more than this much of the budget is left after the client's snippets. */
    static final int MIN_BUDGET_FOR_RETRIEVAL = 256;

    record Segments(
            String prefix,
            Optional<String> suffix,
            List<Snippet> declarations,
            List<Snippet> changedFiles,
            List<Snippet> recentlyOpenedFiles,
            Optional<String> filepath,
            Optional<String> gitUrl) {
        Segments(
                String prefix,
                Optional<String> suffix,
                List<Snippet> declarations,
                List<Snippet> changedFiles,
                List<Snippet> recentlyOpenedFiles) {
            this(prefix, suffix, declarations, changedFiles, recentlyOpenedFiles, Optional.empty(), Optional.empty());
        }
    }

    /** Snippets from the repository's code index for a completion, given the budget the client's snippets left. */
    @FunctionalInterface
    interface Retrieval {
        /** languageId: the request's (the editor's) language id. */
        List<Snippet> snippets(Segments segments, String languageId, int remainingBytes);

        Retrieval NONE = (segments, language, remaining) -> List.of();
    }

    /** prompt: what the model gets; crlf: the input used CRLF, so the output must too. */
    record Built(Prompt prompt, List<Snippet> snippets, boolean crlf) {}

    private CompletionPrompt() {}

    static Built build(Segments segments, Language language, Optional<String> template, boolean disableSnippets) {
        return build(segments, language, template, disableSnippets, Retrieval.NONE);
    }

    /**
     * As Tabby: the client's snippets first; then, when more than {@value #MIN_BUDGET_FOR_RETRIEVAL} bytes of the budget
     * are left, the index's, leaving out the cursor's own file and exact copies of client snippets, each added while it
     * fits (stopping at the first that does not). Disabling retrieval drops both kinds, as in Tabby.
     */
    static Built build(
            Segments segments,
            Language language,
            Optional<String> template,
            boolean disableSnippets,
            Retrieval retrieval) {
        List<Snippet> snippets = disableSnippets || language.lineComment().isEmpty()
                ? List.of()
                : withRetrieved(segments, language.id(), retrieval);
        String prefix =
                withSnippets(segments.prefix(), snippets, language.lineComment().orElse(""));
        String suffix = segments.suffix().filter(s -> !s.isEmpty()).orElse("\n");
        Prompt prompt = template.map(t -> fill(t, prefix, suffix)).orElse(Prompt.of(new Prompt.Text(prefix)));
        boolean crlf = segments.prefix().contains("\r\n")
                || segments.suffix().orElse("").contains("\r\n");
        if (crlf) prompt = prompt.map(s -> s.replace("\r\n", "\n"));
        return new Built(
                clip(prompt, template.map(CompletionPrompt::leadingToken).orElse("")), snippets, crlf);
    }

    /**
     * The template with {@code {prefix}} and {@code {suffix}} filled in: the template's own text as template parts,
     * the user's code as text parts (so a prefix that contains "{suffix}" or "<fim_middle>" stays what it is).
     */
    static Prompt fill(String template, String prefix, String suffix) {
        var b = Prompt.builder();
        int at = 0;
        while (at < template.length()) {
            int p = template.indexOf("{prefix}", at), s = template.indexOf("{suffix}", at);
            int next = p < 0 ? s : s < 0 ? p : Math.min(p, s);
            if (next < 0) break;
            b.template(template.substring(at, next));
            b.text(next == p ? prefix : suffix);
            at = next + "{prefix}".length(); // both placeholders are 8 characters
        }
        return b.template(template.substring(at)).build();
    }

    /** Declarations, then snippets from changed files, then from recently opened ones; each list stops at the first that does not fit. */
    static List<Snippet> collect(Segments s) {
        var out = new ArrayList<Snippet>();
        int remaining = SNIPPET_BUDGET_BYTES;
        for (List<Snippet> list : List.of(s.declarations(), s.changedFiles(), s.recentlyOpenedFiles())) {
            for (Snippet snippet : list) {
                int size = utf8Length(snippet.body());
                if (size > remaining) break;
                remaining -= size;
                out.add(new Snippet(snippet.filepath(), snippet.body(), 1.0));
            }
        }
        return out;
    }

    static List<Snippet> withRetrieved(Segments segments, String languageId, Retrieval retrieval) {
        List<Snippet> client = collect(segments);
        int remaining = SNIPPET_BUDGET_BYTES;
        for (Snippet s : client) remaining -= utf8Length(s.body());
        if (remaining <= MIN_BUDGET_FOR_RETRIEVAL) return client;
        var bodies = new java.util.HashSet<String>();
        for (List<Snippet> list :
                List.of(segments.declarations(), segments.changedFiles(), segments.recentlyOpenedFiles())) {
            for (Snippet s : list) bodies.add(s.body());
        }
        var out = new ArrayList<>(client);
        for (Snippet hit : retrieval.snippets(segments, languageId, remaining)) {
            if (segments.filepath().isPresent() && segments.filepath().get().equals(hit.filepath())) continue;
            if (bodies.contains(hit.body())) continue;
            int size = utf8Length(hit.body());
            if (size > remaining) break;
            remaining -= size;
            bodies.add(hit.body());
            out.add(hit);
        }
        return out;
    }

    static String withSnippets(String prefix, List<Snippet> snippets, String comment) {
        if (snippets.isEmpty()) return prefix;
        var lines = new ArrayList<String>();
        for (int i = 0; i < snippets.size(); i++) {
            if (i > 0) lines.add("");
            lines.add("Path: " + snippets.get(i).filepath());
            snippets.get(i).body().lines().forEach(lines::add);
        }
        var sb = new StringBuilder();
        for (String line : lines) {
            sb.append(line.isEmpty() ? comment : comment + " " + line).append('\n');
        }
        return sb.append(prefix).toString();
    }

    /** The template text before {@code {prefix}}: the special token(s) that open a FIM prompt. */
    static String leadingToken(String template) {
        int at = template.indexOf("{prefix}");
        return at <= 0 ? "" : template.substring(0, at);
    }

    /** Keeps the last bytes of the prompt, on a UTF-8 boundary, re-attaching the leading token if it was cut. */
    static Prompt clip(Prompt prompt, String leading) {
        String text = prompt.text();
        int total = utf8Length(text);
        if (total <= MAX_PROMPT_BYTES) return prompt;
        boolean keepLeading = !leading.isEmpty() && text.startsWith(leading);
        int leadBytes = keepLeading ? utf8Length(leading) : 0;
        int drop = total - (MAX_PROMPT_BYTES - leadBytes);
        // the first character that starts at or after byte `drop`: the cut never splits a UTF-8 sequence
        int chars = 0, bytes = 0;
        while (bytes < drop) {
            char c = text.charAt(chars);
            boolean pair = Character.isHighSurrogate(c)
                    && chars + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(chars + 1));
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
            chars += pair ? 2 : 1;
        }
        Prompt tail = prompt.dropChars(chars);
        return keepLeading ? Prompt.of(new Prompt.Template(leading)).then(tail) : tail;
    }

    /** Tabby's CRLF rule for output: every LF not already preceded by CR becomes CRLF. */
    static String restoreCrlf(String text) {
        var sb = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n' && (i == 0 || text.charAt(i - 1) != '\r')) sb.append('\r');
            sb.append(c);
        }
        return sb.toString();
    }

    static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) n += 1;
            else if (c < 0x800) n += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else n += 3;
        }
        return n;
    }
}
