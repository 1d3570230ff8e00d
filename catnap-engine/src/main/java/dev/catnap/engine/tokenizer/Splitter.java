package dev.catnap.engine.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One step of a pre-tokenizer: cuts {@code text[start, end)} into consecutive pieces that cover it exactly. The
 * pattern steps llama.cpp uses most (GPT-2, llama3, Qwen2, single digits) are hand-written scanners with the same
 * result as the regular expression; the others run the expression itself.
 */
sealed interface Splitter {
    /** Appends piece boundaries to {@code out}; the text between matches is a piece of its own, as in llama.cpp. */
    void split(String text, int start, int end, Bounds out);

    /** A growable list of (start, end) pairs. */
    final class Bounds {
        int[] pairs = new int[64];
        int count;

        void add(int start, int end) {
            if (2 * count + 2 > pairs.length) pairs = java.util.Arrays.copyOf(pairs, pairs.length * 2);
            pairs[2 * count] = start;
            pairs[2 * count + 1] = end;
            count++;
        }

        int start(int i) {
            return pairs[2 * i];
        }

        int end(int i) {
            return pairs[2 * i + 1];
        }
    }

    /** Any regular expression, compiled with Unicode character classes as llama.cpp's \s and \p{..} mean. */
    record Regex(Pattern pattern) implements Splitter {
        static Regex of(String regex) {
            return new Regex(Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS));
        }

        @Override
        public void split(String text, int start, int end, Bounds out) {
            Matcher m = pattern.matcher(text);
            m.region(start, end);
            int last = start;
            while (m.find()) {
                if (m.end() == m.start()) continue; // an empty match cuts nothing
                if (m.start() > last) out.add(last, m.start());
                out.add(m.start(), m.end());
                last = m.end();
            }
            if (last < end) out.add(last, end);
        }
    }

    /** {@code \p{N}}: every number character alone, the text between them as it is. */
    record SingleNumbers() implements Splitter {
        @Override
        public void split(String text, int start, int end, Bounds out) {
            int last = start;
            for (int i = start; i < end; ) {
                int cp = text.codePointAt(i);
                int next = i + Character.charCount(cp);
                if (Chars.isNumber(cp)) {
                    if (i > last) out.add(last, i);
                    out.add(i, next);
                    last = next;
                }
                i = next;
            }
            if (last < end) out.add(last, end);
        }
    }

    /** GPT-2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)}. */
    record Gpt2() implements Splitter {
        @Override
        public void split(String text, int start, int end, Bounds out) {
            int gap = -1; // start of text no alternative matched
            int i = start;
            while (i < end) {
                int len = match(text, i, end);
                if (len == 0) {
                    if (gap < 0) gap = i;
                    i += Character.charCount(text.codePointAt(i));
                    continue;
                }
                if (gap >= 0) {
                    out.add(gap, i);
                    gap = -1;
                }
                out.add(i, i + len);
                i += len;
            }
            if (gap >= 0) out.add(gap, end);
        }

        private static int match(String text, int i, int end) {
            int c = text.codePointAt(i);
            if (c == '\'') {
                int n = Chars.contraction(text, i, end, false);
                if (n > 0) return n;
            }
            if (c == ' ' && i + 1 < end) { // the optional leading space of the next three alternatives
                int c1 = text.codePointAt(i + 1);
                if (Chars.isLetter(c1)) return Chars.runOfLetters(text, i + 1, end) - i;
                if (Chars.isNumber(c1)) return Chars.runOfNumbers(text, i + 1, end) - i;
                if (Chars.isOther(c1)) return Chars.runOfOthers(text, i + 1, end) - i;
            }
            if (Chars.isLetter(c)) return Chars.runOfLetters(text, i, end) - i;
            if (Chars.isNumber(c)) return Chars.runOfNumbers(text, i, end) - i;
            if (Chars.isOther(c)) return Chars.runOfOthers(text, i, end) - i;
            // whitespace that must not be followed by a non-space: all of it at the end, else all but the last
            int j = Chars.runOfWhitespace(text, i, end);
            if (j == end) return j - i;
            int lastStart = j - Character.charCount(text.codePointBefore(j));
            return lastStart > i ? lastStart - i : 0;
        }
    }

    /**
     * llama3 ({@code maxDigits} 3) and Qwen2 ({@code maxDigits} 1):
     * {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+}.
     */
    record Llama3(int maxDigits) implements Splitter {
        @Override
        public void split(String text, int start, int end, Bounds out) {
            for (int i = start; i < end; ) {
                int len = match(text, i, end);
                out.add(i, i + len);
                i += len;
            }
        }

        private int match(String text, int i, int end) {
            int c = text.codePointAt(i);
            int cLen = Character.charCount(c);
            if (c == '\'') {
                int n = Chars.contraction(text, i, end, true);
                if (n > 0) return n;
            }
            if (Chars.isLetter(c)) return Chars.runOfLetters(text, i, end) - i;
            if (c != '\r'
                    && c != '\n'
                    && !Chars.isNumber(c)
                    && i + cLen < end
                    && Chars.isLetter(text.codePointAt(i + cLen))) {
                return Chars.runOfLetters(text, i + cLen, end) - i;
            }
            if (Chars.isNumber(c)) {
                int j = i;
                for (int k = 0; k < maxDigits && j < end; k++) {
                    int d = text.codePointAt(j);
                    if (!Chars.isNumber(d)) break;
                    j += Character.charCount(d);
                }
                return j - i;
            }
            int first = c == ' ' && i + 1 < end ? i + 1 : i;
            int f = text.codePointAt(first);
            if (!Chars.isWhitespace(f) && !Chars.isLetter(f) && !Chars.isNumber(f)) {
                int j = Chars.runOfOthers(text, first, end);
                while (j < end && (text.charAt(j) == '\r' || text.charAt(j) == '\n')) j++;
                return j - i;
            }
            // c is whitespace here
            int j = Chars.runOfWhitespace(text, i, end);
            for (int p = j - 1; p >= i; p--) {
                char ch = text.charAt(p);
                if (ch == '\r' || ch == '\n') return p + 1 - i; // \s*[\r\n]+
            }
            if (j == end) return j - i;
            int lastStart = j - Character.charCount(text.codePointBefore(j));
            return lastStart > i ? lastStart - i : j - i; // \s+(?!\S), else \s+
        }
    }
}
