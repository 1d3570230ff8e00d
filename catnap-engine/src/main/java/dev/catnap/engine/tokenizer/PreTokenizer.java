package dev.catnap.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into the words that byte-level BPE then encodes one by one, as selected by {@code tokenizer.ggml.pre}.
 * llama.cpp applies a list of patterns in sequence: each pattern splits every piece left by the previous one, keeping
 * the text between matches as pieces of their own. A pattern never looks beyond the piece it is applied to.
 *
 * @param name         the {@code tokenizer.ggml.pre} value
 * @param patterns     applied in order
 * @param ignoreMerges a word that is itself a token is not merged (llama3)
 * @param addBos       the default for {@code add_bos_token} when the metadata does not say
 */
record PreTokenizer(String name, List<Pattern> patterns, boolean ignoreMerges, boolean addBos) {
    private static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String BLOOM = " ?[^(\\s|.,!?…。，、।۔،)]+";
    private static final String CJK = "[一-龥ࠀ-一가-퟿]+";

    static PreTokenizer forName(String pre) {
        return switch (pre) {
            case "", "default" -> of(pre, false, false,
                    "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> of(pre, true, true, LLAMA3);
            case "dbrx", "smaug-bpe" -> of(pre, false, false, LLAMA3);
            case "chatglm-bpe" -> of(pre, false, false, LLAMA3);
            case "deepseek-llm" -> of(pre, false, false,
                    "[\r\n]",
                    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
                    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
                    "\\s+$",
                    CJK,
                    "\\p{N}+");
            case "deepseek-coder" -> of(pre, false, false, "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}");
            case "deepseek-v3" -> of(pre, false, false,
                    "\\p{N}{1,3}",
                    "[一-龥぀-ゟ゠-ヿ]+",
                    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                            + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+");
            case "falcon" -> of(pre, false, false, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" ->
                    of(pre, false, false, "\\p{N}", GPT2);
            case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de",
                 "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais" -> of(pre, false, false, GPT2);
            case "qwen2", "stablelm2", "megrez" -> of(pre, false, false, QWEN2);
            case "poro-chat", "bloom", "gpt3-finnish" -> of(pre, false, false, BLOOM);
            case "viking" -> of(pre, false, false, BLOOM, "\\p{N}");
            default -> throw new IllegalArgumentException("unsupported tokenizer.ggml.pre '" + pre + "'");
        };
    }

    private static PreTokenizer of(String name, boolean ignoreMerges, boolean addBos, String... regexes) {
        List<Pattern> patterns = new ArrayList<>(regexes.length);
        for (String r : regexes) patterns.add(Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS));
        return new PreTokenizer(name, List.copyOf(patterns), ignoreMerges, addBos);
    }

    /** The words of {@code text}, in order; together they are exactly {@code text}. */
    List<String> split(String text) {
        // piece boundaries as (start, end) pairs, refined by each pattern in turn
        int[] bounds = {0, text.length()};
        int count = text.isEmpty() ? 0 : 1;
        for (Pattern pattern : patterns) {
            Matcher m = pattern.matcher(text);
            int[] next = new int[Math.max(8, count * 4)];
            int nextCount = 0;
            for (int p = 0; p < count; p++) {
                int start = bounds[2 * p], end = bounds[2 * p + 1];
                m.region(start, end);
                int last = start;
                while (m.find()) {
                    if (m.end() == m.start()) continue; // an empty match splits nothing
                    if (m.start() > last) next = push(next, nextCount++, last, m.start());
                    next = push(next, nextCount++, m.start(), m.end());
                    last = m.end();
                }
                if (last < end) next = push(next, nextCount++, last, end);
            }
            bounds = next;
            count = nextCount;
        }
        List<String> words = new ArrayList<>(count);
        for (int p = 0; p < count; p++) words.add(text.substring(bounds[2 * p], bounds[2 * p + 1]));
        return words;
    }

    private static int[] push(int[] bounds, int index, int start, int end) {
        if (2 * index + 2 > bounds.length) bounds = java.util.Arrays.copyOf(bounds, bounds.length * 2);
        bounds[2 * index] = start;
        bounds[2 * index + 1] = end;
        return bounds;
    }
}
