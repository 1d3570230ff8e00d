package dev.catnap.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits text into the words that byte-level BPE then encodes one by one, as selected by {@code tokenizer.ggml.pre}.
 * llama.cpp applies a list of patterns in sequence: each pattern splits every piece left by the previous one, keeping
 * the text between matches as pieces of their own. A pattern never looks beyond the piece it is applied to.
 *
 * @param name         the {@code tokenizer.ggml.pre} value
 * @param steps        applied in order
 * @param ignoreMerges a word that is itself a token is not merged (llama3)
 * @param addBos       the default for {@code add_bos_token} when the metadata does not say
 */
record PreTokenizer(String name, List<Splitter> steps, boolean ignoreMerges, boolean addBos) {
    static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    static final String BLOOM = " ?[^(\\s|.,!?…。，、।۔،)]+";
    private static final String CJK = "[一-龥ࠀ-一가-퟿]+";

    static PreTokenizer forName(String pre) {
        return switch (pre) {
            case "", "default" ->
                of(pre, false, false, "[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]");
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> of(pre, true, true, LLAMA3);
            case "dbrx", "smaug-bpe" -> of(pre, false, false, LLAMA3);
            case "chatglm-bpe" -> of(pre, false, false, LLAMA3);
            case "deepseek-llm" ->
                of(
                        pre,
                        false,
                        false,
                        "[\r\n]",
                        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
                        "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
                        "\\s+$",
                        CJK,
                        "\\p{N}+");
            case "deepseek-coder" -> of(pre, false, false, "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", CJK, "\\p{N}");
            case "deepseek-v3" ->
                of(
                        pre,
                        false,
                        false,
                        "\\p{N}{1,3}",
                        "[一-龥぀-ゟ゠-ヿ]+",
                        "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                                + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+");
            case "falcon" -> of(pre, false, false, "[\\p{P}\\$\\+<=>\\^~\\|`]+", GPT2, "[0-9][0-9][0-9]");
            case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b" ->
                of(pre, false, false, "\\p{N}", GPT2);
            case "gpt-2",
                    "phi-2",
                    "jina-es",
                    "jina-de",
                    "gigachat",
                    "jina-v1-en",
                    "jina-v2-es",
                    "jina-v2-de",
                    "jina-v2-code",
                    "roberta-bpe",
                    "mpt",
                    "olmo",
                    "jais" -> of(pre, false, false, GPT2);
            case "qwen2", "stablelm2", "megrez" -> of(pre, false, false, QWEN2);
            case "poro-chat", "bloom", "gpt3-finnish" -> of(pre, false, false, BLOOM);
            case "viking" -> of(pre, false, false, BLOOM, "\\p{N}");
            default -> throw new IllegalArgumentException("unsupported tokenizer.ggml.pre '" + pre + "'");
        };
    }

    private static PreTokenizer of(String name, boolean ignoreMerges, boolean addBos, String... regexes) {
        List<Splitter> steps = new ArrayList<>(regexes.length);
        for (String r : regexes) steps.add(step(r));
        return new PreTokenizer(name, List.copyOf(steps), ignoreMerges, addBos);
    }

    /** The hand-written scanner for the common patterns (same result, several times faster), else the regex. */
    static Splitter step(String regex) {
        return switch (regex) {
            case GPT2 -> new Splitter.Gpt2();
            case LLAMA3 -> new Splitter.Llama3(3);
            case QWEN2 -> new Splitter.Llama3(1);
            case "\\p{N}" -> new Splitter.SingleNumbers();
            default -> Splitter.Regex.of(regex);
        };
    }

    /** Where the words of {@code text} start and end; together they cover it exactly. */
    Splitter.Bounds bounds(String text) {
        Splitter.Bounds bounds = new Splitter.Bounds();
        if (!text.isEmpty()) bounds.add(0, text.length());
        for (Splitter step : steps) {
            Splitter.Bounds next = new Splitter.Bounds();
            for (int p = 0; p < bounds.count; p++) step.split(text, bounds.start(p), bounds.end(p), next);
            bounds = next;
        }
        return bounds;
    }
}
