package dev.catnap.cli;

import dev.catnap.engine.gguf.GGUFArray;
import dev.catnap.engine.gguf.GGUFWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A byte-level BPE vocabulary (StarCoder's pre-tokenizer and FIM tokens) written as a tokenizer-only GGUF, for
 * synthetic models when no real vocabulary is at hand: every text encodes (one token per byte, a few merges), and
 * {@code size} pads it with control tokens so that embedding and output matrices have a real model's shape.
 */
final class SyntheticVocabulary {
    /** StarCoder's vocabulary size. */
    static final int STARCODER_SIZE = 49152;

    private static final List<String> SPECIAL =
            List.of("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>");
    private static final List<String> MERGES =
            List.of("Ġ Ġ", "d e", "de f", "r e", "re t", "ret u", "retu r", "retur n", "i n", "Ġ in");

    private SyntheticVocabulary() {}

    static void write(Path file, int size) throws IOException {
        int base = SPECIAL.size() + 256 + MERGES.size();
        if (size < base) throw new IllegalArgumentException("a synthetic vocabulary has at least " + base + " tokens");
        List<String> tokens = new ArrayList<>(size);
        int[] types = new int[size];
        for (String special : SPECIAL) {
            types[tokens.size()] = 3; // control
            tokens.add(special);
        }
        for (int b = 0; b < 256; b++) {
            types[tokens.size()] = 1;
            tokens.add(String.valueOf(byteChar(b)));
        }
        for (String m : MERGES) {
            types[tokens.size()] = 1;
            tokens.add(m.replace(" ", ""));
        }
        while (tokens.size() < size) {
            types[tokens.size()] = 3;
            tokens.add("<|synthetic_" + tokens.size() + "|>");
        }
        var w = new GGUFWriter();
        w.putString("general.architecture", "starcoder");
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", "starcoder");
        w.putArray("tokenizer.ggml.tokens", GGUFArray.of(tokens));
        w.putArray("tokenizer.ggml.token_type", GGUFArray.of(types));
        w.putArray("tokenizer.ggml.merges", GGUFArray.of(MERGES));
        w.putUInt32("tokenizer.ggml.bos_token_id", 0);
        w.putUInt32("tokenizer.ggml.eos_token_id", 0);
        w.write(file);
    }

    /** GPT-2's byte-to-character table: printable Latin-1 bytes stand for themselves, the rest from U+0100 on. */
    private static char byteChar(int b) {
        int next = 256;
        for (int x = 0; x < 256; x++) {
            boolean printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (x == b) return printable ? (char) x : (char) next;
            if (!printable) next++;
        }
        throw new IllegalArgumentException("not a byte: " + b);
    }
}
