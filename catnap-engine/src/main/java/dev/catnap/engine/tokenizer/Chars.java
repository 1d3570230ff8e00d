package dev.catnap.engine.tokenizer;

/** The character classes of the pre-tokenizer patterns: {@code \p{L}}, {@code \p{N}} and Unicode {@code \s}. */
final class Chars {
    private Chars() {}

    static boolean isLetter(int cp) {
        if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
        return Character.isLetter(cp);
    }

    static boolean isNumber(int cp) {
        if (cp < 0x80) return cp >= '0' && cp <= '9';
        int type = Character.getType(cp);
        return type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.LETTER_NUMBER
                || type == Character.OTHER_NUMBER;
    }

    /** Unicode White_Space, which is what {@code \s} matches with {@code UNICODE_CHARACTER_CLASS}. */
    static boolean isWhitespace(int cp) {
        if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
        return cp == 0x85
                || cp == 0xA0
                || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028
                || cp == 0x2029
                || cp == 0x202F
                || cp == 0x205F
                || cp == 0x3000;
    }

    /** {@code [^\s\p{L}\p{N}]} */
    static boolean isOther(int cp) {
        return !isWhitespace(cp) && !isLetter(cp) && !isNumber(cp);
    }

    static int runOfLetters(String text, int i, int end) {
        while (i < end) {
            int cp = text.codePointAt(i);
            if (!isLetter(cp)) break;
            i += Character.charCount(cp);
        }
        return i;
    }

    static int runOfNumbers(String text, int i, int end) {
        while (i < end) {
            int cp = text.codePointAt(i);
            if (!isNumber(cp)) break;
            i += Character.charCount(cp);
        }
        return i;
    }

    static int runOfOthers(String text, int i, int end) {
        while (i < end) {
            int cp = text.codePointAt(i);
            if (!isOther(cp)) break;
            i += Character.charCount(cp);
        }
        return i;
    }

    static int runOfWhitespace(String text, int i, int end) {
        while (i < end && isWhitespace(text.charAt(i))) i++; // all White_Space characters are in the BMP
        return i;
    }

    /** The length of {@code 's 't 're 've 'm 'll 'd} at {@code i} (a quote), or 0. */
    static int contraction(String text, int i, int end, boolean ignoreCase) {
        if (i + 1 >= end) return 0;
        char a = lower(text.charAt(i + 1), ignoreCase);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (i + 2 >= end) return 0;
        char b = lower(text.charAt(i + 2), ignoreCase);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        return 0;
    }

    private static char lower(char c, boolean ignoreCase) {
        return ignoreCase && c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }
}
