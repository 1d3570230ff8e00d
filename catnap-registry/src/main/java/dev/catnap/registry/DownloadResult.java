package dev.catnap.registry;

/** What a download did. {@code bytesFetched} counts only bytes received in this run. */
public record DownloadResult(LocalModel model, Outcome outcome, long bytesFetched) {
    public enum Outcome {
        /** Present and recorded as verified: nothing was read from the network or rehashed. */
        ALREADY_VERIFIED,
        /** Present; hashed locally, matched, and recorded as verified without the network. */
        VERIFIED_LOCAL_FILES,
        /** Present with no hash to check against (e.g. a hand-made tabby.json); used as is. */
        PRESENT_UNVERIFIABLE,
        /** Fetched (all or some parts) and verified. */
        DOWNLOADED
    }
}
