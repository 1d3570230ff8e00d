package dev.catnap.engine.tokenizer;

/** Encodes one piece of plain text (special tokens already cut out) with one of the three vocabulary kinds. */
sealed interface FragmentEncoder permits BpeEncoder, SpmEncoder, WordPieceEncoder {
    void encode(String text, IntList out);
}
