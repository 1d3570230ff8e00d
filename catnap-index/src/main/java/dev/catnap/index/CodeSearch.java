package dev.catnap.index;

import java.util.List;
import java.util.Optional;

/** Top chunks for a text, as Tabby's code search ({@code services/code.rs}) gives them to completions and people. */
public interface CodeSearch {
    /**
     * @param text        the query: code before the cursor, or words a person typed
     * @param source      only this repository ({@link Repository#source()}); empty: all
     * @param language    only this index language ({@link CodeLanguage}); empty: all
     * @param excludePath leave out this file (the one being edited)
     * @param limit       at most this many hits
     * @param thresholds  whether Tabby's minimum scores apply (completions) or not (a person's search)
     */
    record Request(
            String text,
            Optional<String> source,
            Optional<String> language,
            Optional<String> excludePath,
            int limit,
            boolean thresholds) {}

    /** Scores: rrf is the fused rank score; bm25 and embedding (cosine) are -1 / 0 where that ranking did not find the chunk. */
    record Hit(
            String source,
            String filepath,
            String language,
            int startLine,
            int endLine,
            String body,
            double rrf,
            double bm25,
            double embedding) {}

    List<Hit> search(Request request);

    /** The sources the index holds. */
    List<String> sources();

    SearchMode mode();
}
