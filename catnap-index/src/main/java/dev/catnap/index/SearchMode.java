package dev.catnap.index;

/** Which rankings a search uses: BM25 over code tokens, embedding similarity, or both fused by reciprocal rank. */
public enum SearchMode {
    BM25,
    VECTOR,
    HYBRID
}
