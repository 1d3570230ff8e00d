package dev.catnap.server;

import java.util.List;

/**
 * Stop words over streamed text. Completions use Tabby's rule: after each non-empty piece, if the text so far (prompt tail + generated) ends with a
 * stop word, the generated text is cut by that word's length (never below zero) and generation ends. A stop
 * word that straddles the prompt and the output therefore empties the output, as in Tabby.
 */
final class StopCondition {
    private final List<String> stopWords;
    private final boolean anywhere;
    private final int longest;
    private final StringBuilder context = new StringBuilder();
    private final StringBuilder generated = new StringBuilder();
    private boolean stopped;

    private StopCondition(List<String> stopWords, String prompt, boolean anywhere) {
        this.stopWords = List.copyOf(stopWords);
        this.anywhere = anywhere;
        this.longest = stopWords.stream().mapToInt(String::length).max().orElse(0);
        context.append(prompt, Math.max(0, prompt.length() - longest), prompt.length());
    }

    /** Tabby's completion rule: the text (prompt tail + output) must end with the stop word after a piece. */
    static StopCondition tabby(List<String> stopWords, String prompt) {
        return new StopCondition(stopWords, prompt, false);
    }

    /** OpenAI's rule for chat: the output ends before the first occurrence of any stop string. */
    static StopCondition openAi(List<String> stopWords) {
        return new StopCondition(stopWords, "", true);
    }

    /** Adds a piece; returns false once a stop word has matched (the generation should stop). */
    boolean append(String piece) {
        if (stopped) return false;
        if (piece.isEmpty()) return true;
        int before = generated.length();
        context.append(piece);
        generated.append(piece);
        if (anywhere) {
            int cut = -1;
            int from = Math.max(0, before - longest + 1);
            for (String w : stopWords) {
                int at = generated.indexOf(w, from);
                if (at >= 0 && (cut < 0 || at < cut)) cut = at;
            }
            if (cut < 0) return true;
            generated.setLength(cut);
            stopped = true;
            return false;
        }
        String match = null;
        for (String w : stopWords) {
            if (endsWith(context, w) && (match == null || w.length() < match.length())) match = w;
        }
        if (match == null) return true;
        generated.setLength(Math.max(0, generated.length() - match.length()));
        stopped = true;
        return false;
    }

    boolean stopped() {
        return stopped;
    }

    String text() {
        return generated.toString();
    }

    private static boolean endsWith(CharSequence s, String suffix) {
        int n = s.length(), m = suffix.length();
        if (m == 0 || m > n) return false;
        for (int i = 0; i < m; i++) if (s.charAt(n - m + i) != suffix.charAt(i)) return false;
        return true;
    }
}
