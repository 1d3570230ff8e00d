package dev.catnap.engine.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * WordPiece ({@code tokenizer.ggml.model = bert}) as llama.cpp runs it: NFD, lower case, drop accents and control
 * characters, split on whitespace, and make every punctuation mark, ASCII symbol and CJK ideograph a word of its own.
 * Each word, prefixed with U+2581 (how the GGUF vocabulary marks a word start), is cut greedily into the longest
 * matching tokens; a word with any unmatched part becomes the unknown token.
 */
final class WordPieceEncoder implements FragmentEncoder {
    private final Vocabulary vocab;
    private final int maxTokenLength;

    WordPieceEncoder(Vocabulary vocab) {
        this.vocab = vocab;
        int max = 0;
        for (String t : vocab.texts()) max = Math.max(max, t.length());
        this.maxTokenLength = max;
    }

    @Override
    public void encode(String text, IntList out) {
        for (String word : words(text)) {
            String w = "\u2581" + word;
            int n = w.length();
            int before = out.size();
            for (int i = 0; i < n; ) {
                int matchEnd = -1;
                for (int j = Math.min(n, i + maxTokenLength); j > i; j--) {
                    int id = vocab.id(w.substring(i, j));
                    if (id >= 0) {
                        out.add(id);
                        matchEnd = j;
                        break;
                    }
                }
                if (matchEnd < 0) {
                    out.truncate(before);
                    break;
                }
                i = matchEnd;
            }
            if (out.size() == before) out.add(vocab.special().unk());
        }
    }

    static List<String> words(String text) {
        String nfd = Normalizer.normalize(text, Normalizer.Form.NFD);
        List<String> words = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (int i = 0; i < nfd.length(); ) {
            int cp = nfd.codePointAt(i);
            i += Character.charCount(cp);
            if (Chars.isWhitespace(cp)) {
                flush(current, words);
                continue;
            }
            int type = Character.getType(cp);
            // accents are gone after NFD: uncased BERT drops the combining marks
            if (cp == 0 || cp == 0xFFFD || isControl(type) || type == Character.NON_SPACING_MARK) continue;
            int lower = Character.toLowerCase(cp);
            if (isPunctuation(type) || (cp < 0x7F && isSymbol(type)) || isChineseChar(cp)) {
                flush(current, words);
                words.add(Character.toString(lower));
            } else {
                current.appendCodePoint(lower);
            }
        }
        flush(current, words);
        return words;
    }

    private static void flush(StringBuilder current, List<String> words) {
        if (!current.isEmpty()) {
            words.add(current.toString());
            current.setLength(0);
        }
    }

    private static boolean isControl(int type) {
        return type == Character.CONTROL
                || type == Character.FORMAT
                || type == Character.PRIVATE_USE
                || type == Character.SURROGATE;
    }

    private static boolean isPunctuation(int type) {
        return type == Character.CONNECTOR_PUNCTUATION
                || type == Character.DASH_PUNCTUATION
                || type == Character.START_PUNCTUATION
                || type == Character.END_PUNCTUATION
                || type == Character.INITIAL_QUOTE_PUNCTUATION
                || type == Character.FINAL_QUOTE_PUNCTUATION
                || type == Character.OTHER_PUNCTUATION;
    }

    private static boolean isSymbol(int type) {
        return type == Character.MATH_SYMBOL
                || type == Character.CURRENCY_SYMBOL
                || type == Character.MODIFIER_SYMBOL
                || type == Character.OTHER_SYMBOL;
    }

    private static boolean isChineseChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
