package dev.catnap.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Emits the text of a token stream as soon as it is complete UTF-8. A token may end in the middle of a character
 * (byte-level BPE and byte-fallback tokens do); those bytes wait for the tokens that complete them. Bytes that can
 * never form a character are emitted as U+FFFD, so nothing is held back longer than one character.
 */
final class Utf8StreamingDecoder implements StreamingDecoder {
    private final IntFunction<byte[]> pieces;
    private byte[] pending = new byte[16];
    private int size;

    Utf8StreamingDecoder(IntFunction<byte[]> pieces) {
        this.pieces = pieces;
    }

    @Override
    public String push(int id) {
        byte[] piece = pieces.apply(id);
        if (size + piece.length > pending.length)
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, size + piece.length));
        System.arraycopy(piece, 0, pending, size, piece.length);
        size += piece.length;
        int complete = completePrefix(pending, size);
        if (complete == 0) return "";
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, size - complete);
        size -= complete;
        return text;
    }

    @Override
    public String flush() {
        String text = new String(pending, 0, size, StandardCharsets.UTF_8);
        size = 0;
        return text;
    }

    /** The length of the longest prefix that does not end inside a character that later bytes could still complete. */
    static int completePrefix(byte[] bytes, int size) {
        // a character is at most 4 bytes: look for the lead byte of the last one
        for (int back = 1; back <= Math.min(4, size); back++) {
            int b = bytes[size - back] & 0xFF;
            if ((b & 0xC0) == 0x80) continue; // continuation byte: the lead is further back
            int need = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 && b < 0xF0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1;
            return need > back ? size - back : size;
        }
        return size; // only continuation bytes at the end: invalid whatever follows
    }
}
