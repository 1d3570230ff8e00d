package dev.catnap.index;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.LockObtainFailedException;
import org.apache.lucene.util.Bits;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds and refreshes the code index. Incremental by git state: a file whose blob id is the one already indexed for
 * that path is not read; changed files are re-chunked (and re-embedded), removed files are dropped. One writer at a
 * time (Lucene's write lock); readers such as a running {@code catnap serve} see each commit on their next refresh.
 */
public final class Indexer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Indexer.class);
    static final int MAX_LINE_LENGTH = 300;
    static final int MAX_AVERAGE_LINE_LENGTH = 150;
    static final double MIN_ALPHANUMERIC_FRACTION = 0.25;

    /** What the indexer tells its progress display. */
    public interface Progress {
        void start(String repository, int files, long bytes);

        void advance(long bytes);

        void finish();

        Progress NONE = new Progress() {
            public void start(String repository, int files, long bytes) {}

            public void advance(long bytes) {}

            public void finish() {}
        };
    }

    /** The outcome for one repository. */
    public record Report(
            String source,
            int files,
            int read,
            int unchanged,
            int removed,
            int skipped,
            int chunks,
            long bytesRead,
            long millis) {}

    private final Directory directory;
    private final IndexWriter writer;
    private final Optional<Embedder> embedder;
    private final Chunker chunker;

    /**
     * Opens (or creates) the index in {@code dir} for writing. Another writer holding the lock, a corrupt index and
     * an index from a newer or older format are IndexExceptions with one readable line; {@code rebuild} starts over.
     */
    public Indexer(Path dir, Optional<Embedder> embedder, Chunker chunker, boolean rebuild) throws IndexException {
        this.embedder = embedder;
        this.chunker = chunker;
        try {
            Files.createDirectories(dir);
            this.directory = FSDirectory.open(dir);
        } catch (IOException e) {
            throw new IndexException("cannot open index directory " + dir + ": " + e.getMessage());
        }
        IndexWriterConfig config = new IndexWriterConfig(new CodeAnalyzer())
                .setOpenMode(rebuild ? IndexWriterConfig.OpenMode.CREATE : IndexWriterConfig.OpenMode.CREATE_OR_APPEND)
                .setRAMBufferSizeMB(64);
        try {
            if (rebuild) deleteIndexFiles(directory, dir);
            this.writer = new IndexWriter(directory, config);
        } catch (LockObtainFailedException e) {
            closeQuietly();
            throw new IndexException("index " + dir + " is locked by another writer (is 'catnap index' running?)");
        } catch (CorruptIndexException | IndexFormatTooNewException | IndexFormatTooOldException e) {
            closeQuietly();
            throw new IndexException("index " + dir + " is unreadable ("
                    + e.getClass().getSimpleName() + "); run 'catnap index --rebuild'");
        } catch (IOException e) {
            closeQuietly();
            throw new IndexException("cannot open index " + dir + ": " + e.getMessage());
        }
        try {
            reconcileEmbedding(dir);
        } catch (IOException e) {
            close();
            throw new IndexException("cannot read index " + dir + ": " + e.getMessage());
        }
    }

    /**
     * Under the write lock (so never under another writer's feet), deletes Lucene's own files (segments*, _*): a
     * corrupt index cannot even be opened in CREATE mode. Whatever else is in the folder is not ours.
     */
    private static void deleteIndexFiles(Directory directory, Path dir) throws IOException {
        try (var lock = directory.obtainLock(IndexWriter.WRITE_LOCK_NAME);
                var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (Files.isRegularFile(f)
                        && (name.startsWith("segments")
                                || name.startsWith("pending_segments")
                                || name.startsWith("_"))) {
                    Files.delete(f);
                }
            }
        }
    }

    /** A changed embedding model (or none where there was one) makes every stored vector wrong: start over. */
    private void reconcileEmbedding(Path dir) throws IOException {
        Map<String, String> data = commitData();
        if (data.isEmpty() || writer.getDocStats().numDocs == 0) return;
        String had = data.getOrDefault(IndexSchema.COMMIT_EMBEDDING_MODEL, "");
        String hadDims = data.getOrDefault(IndexSchema.COMMIT_DIMENSIONS, "0");
        String now = embedder.map(Embedder::modelId).orElse("");
        String nowDims =
                embedder.map(e -> Integer.toString(e.model().dimensions())).orElse("0");
        if (!had.equals(now) || !hadDims.equals(nowDims)) {
            log.info(
                    "index {}: embedding model changed ({} -> {}): indexing every file again",
                    dir,
                    had.isEmpty() ? "none" : had + " (" + hadDims + " dims)",
                    now.isEmpty() ? "none" : now + " (" + nowDims + " dims)");
            writer.deleteAll();
        }
    }

    private Map<String, String> commitData() throws IOException {
        if (!DirectoryReader.indexExists(directory)) return Map.of();
        var out = new HashMap<String, String>();
        writer.getLiveCommitData().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Brings one repository's documents up to date with its work tree and commits. */
    public Report index(String source, Path workTree, Progress progress) throws IOException {
        long start = System.nanoTime();
        GitFiles.Listing listing = GitFiles.list(workTree);
        Map<String, String> indexed = indexedBlobs(source);
        var seen = new HashSet<String>();
        var changed = new ArrayList<GitFiles.SourceFile>();
        for (GitFiles.SourceFile f : listing.files()) {
            seen.add(f.path());
            if (!f.blobId().equals(indexed.get(f.path()))) changed.add(f);
        }
        long bytes = changed.stream().mapToLong(GitFiles.SourceFile::size).sum();
        progress.start(Repository.nameOf(source), changed.size(), bytes);
        int chunks = 0, read = 0, skipped = listing.skipped();
        long bytesRead = 0;
        for (GitFiles.SourceFile f : changed) {
            List<Document> docs = new ArrayList<>();
            String key = IndexSchema.fileKey(source, f.path());
            String language = CodeLanguage.ofPath(f.path()).orElseThrow();
            Optional<String> text = read(listing.workTree().resolve(f.path()), f.path());
            if (text.isPresent()) {
                read++;
                bytesRead += f.size();
                List<Chunker.Chunk> parts = chunker.split(text.get());
                for (int i = 0; i < parts.size(); i++)
                    docs.add(chunk(source, f.path(), language, f.blobId(), parts.get(i)));
                chunks += parts.size();
            } else {
                skipped++;
            }
            docs.add(marker(source, f.path(), language, f.blobId()));
            writer.updateDocuments(new Term(IndexSchema.FILE, key), docs);
            progress.advance(f.size());
        }
        int removed = 0;
        for (String path : indexed.keySet()) {
            if (!seen.contains(path)) {
                writer.deleteDocuments(new Term(IndexSchema.FILE, IndexSchema.fileKey(source, path)));
                removed++;
            }
        }
        writer.setLiveCommitData(Map.of(
                        IndexSchema.COMMIT_FORMAT, IndexSchema.FORMAT,
                        IndexSchema.COMMIT_EMBEDDING_MODEL,
                                embedder.map(Embedder::modelId).orElse(""),
                        IndexSchema.COMMIT_DIMENSIONS,
                                embedder.map(e -> Integer.toString(e.model().dimensions()))
                                        .orElse("0"))
                .entrySet());
        writer.commit();
        progress.finish();
        return new Report(
                source,
                listing.files().size(),
                read,
                listing.files().size() - changed.size(),
                removed,
                skipped,
                chunks,
                bytesRead,
                (System.nanoTime() - start) / 1_000_000);
    }

    /** The file's text, or empty (with one log line) when it cannot be read or is not source code. */
    static Optional<String> read(Path file, String path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            log.warn("skipping {}: cannot read it ({})", path, e.getClass().getSimpleName() + ": " + e.getMessage());
            return Optional.empty();
        }
        for (int i = 0, n = Math.min(bytes.length, 8000); i < n; i++)
            if (bytes[i] == 0) return Optional.empty(); // binary
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return Optional.empty(); // not UTF-8: most likely binary or a legacy encoding
        }
        return looksLikeCode(text) ? Optional.of(text) : Optional.empty();
    }

    /** Tabby's filter for generated or minified files: long lines, or too few letters and digits. */
    static boolean looksLikeCode(String text) {
        if (text.isBlank()) return false;
        int lines = 0, longest = 0, current = 0, alnum = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\n') {
                lines++;
                longest = Math.max(longest, current);
                current = 0;
            } else {
                current++;
            }
            if (Character.isLetterOrDigit(c)) alnum++;
        }
        if (current > 0) lines++;
        longest = Math.max(longest, current);
        return longest <= MAX_LINE_LENGTH
                && (double) text.length() / lines <= MAX_AVERAGE_LINE_LENGTH
                && (double) alnum / text.length() >= MIN_ALPHANUMERIC_FRACTION;
    }

    private Document chunk(String source, String path, String language, String blob, Chunker.Chunk c) {
        Document d = common(source, path, language, blob, "chunk");
        d.add(new StoredField(IndexSchema.BODY, c.text()));
        d.add(new StoredField(IndexSchema.START_LINE, c.startLine()));
        d.add(new StoredField(IndexSchema.END_LINE, c.endLine()));
        // the path's words count too: a chunk of StringUtils.java is about string utils
        d.add(new TextField(IndexSchema.CODE, path + "\n" + c.text(), Field.Store.NO));
        if (embedder.isPresent()) {
            float[] v = embedder.get().embed(path + "\n" + c.text());
            if (v != null) d.add(new KnnFloatVectorField(IndexSchema.VECTOR, v, VectorSimilarityFunction.COSINE));
        }
        return d;
    }

    private static Document marker(String source, String path, String language, String blob) {
        return common(source, path, language, blob, "file");
    }

    private static Document common(String source, String path, String language, String blob, String kind) {
        Document d = new Document();
        d.add(new StringField(IndexSchema.FILE, IndexSchema.fileKey(source, path), Field.Store.NO));
        d.add(new StringField(IndexSchema.SOURCE, source, Field.Store.YES));
        d.add(new StringField(IndexSchema.FILEPATH, path, Field.Store.YES));
        d.add(new StringField(IndexSchema.LANGUAGE, language, Field.Store.YES));
        d.add(new StringField(IndexSchema.KIND, kind, Field.Store.YES));
        d.add(new StoredField(IndexSchema.BLOB, blob));
        return d;
    }

    /** filepath -> blob id of the files this source has in the index (from their marker documents). */
    private Map<String, String> indexedBlobs(String source) throws IOException {
        var out = new HashMap<String, String>();
        try (DirectoryReader reader = DirectoryReader.open(writer)) {
            for (LeafReaderContext leaf : reader.leaves()) {
                Bits live = leaf.reader().getLiveDocs();
                StoredFields stored = leaf.reader().storedFields();
                var postings = leaf.reader().postings(new Term(IndexSchema.KIND, "file"));
                if (postings == null) continue;
                for (int doc = postings.nextDoc();
                        doc != org.apache.lucene.search.DocIdSetIterator.NO_MORE_DOCS;
                        doc = postings.nextDoc()) {
                    if (live != null && !live.get(doc)) continue;
                    Document d =
                            stored.document(doc, Set.of(IndexSchema.SOURCE, IndexSchema.FILEPATH, IndexSchema.BLOB));
                    if (source.equals(d.get(IndexSchema.SOURCE)))
                        out.put(d.get(IndexSchema.FILEPATH), d.get(IndexSchema.BLOB));
                }
            }
        }
        return out;
    }

    /** Drops every document of a source (a repository no longer configured). */
    public void remove(String source) throws IOException {
        writer.deleteDocuments(new Term(IndexSchema.SOURCE, source));
        writer.commit();
    }

    @Override
    public void close() {
        try {
            writer.close();
        } catch (IOException e) {
            log.warn("closing the index writer failed: {}", e.toString());
        }
        closeQuietly();
    }

    private void closeQuietly() {
        try {
            if (directory != null) directory.close();
        } catch (IOException ignored) {
            // nothing was written through it
        }
    }
}
