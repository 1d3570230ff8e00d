package dev.catnap.index;

/** Field names and commit keys of the code index (one Lucene directory for all repositories). */
final class IndexSchema {
    static final String FORMAT = "1";

    /** source + '\n' + filepath: one file's documents, for replacing or removing them together. */
    static final String FILE = "file";

    static final String SOURCE = "source";
    static final String FILEPATH = "filepath";
    static final String LANGUAGE = "language";
    static final String BLOB = "blob";
    /** "chunk" or "file" (one marker per file, also for files that gave no chunk, so they are not read again). */
    static final String KIND = "kind";

    static final String BODY = "body";
    static final String CODE = "code";
    static final String START_LINE = "start_line";
    static final String END_LINE = "end_line";
    static final String VECTOR = "vector";

    static final String COMMIT_FORMAT = "catnap.index.format";
    static final String COMMIT_EMBEDDING_MODEL = "catnap.embedding.model";
    static final String COMMIT_DIMENSIONS = "catnap.embedding.dimensions";

    private IndexSchema() {}

    static String fileKey(String source, String filepath) {
        return source + "\n" + filepath;
    }
}
