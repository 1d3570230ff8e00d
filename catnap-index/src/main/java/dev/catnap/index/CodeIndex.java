package dev.catnap.index;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexNotFoundException;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.BoostQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The code index opened for search (read only; it never takes the write lock, so {@code catnap index} may run
 * meanwhile, and each of its commits is picked up within {@link #REFRESH_NANOS}). Ranking as Tabby's code search:
 * BM25 over code tokens and the embedding's nearest neighbours (Lucene HNSW), 40 candidates each, fused by reciprocal
 * rank {@code 1/(60+rank)}, at most two chunks per file.
 */
public final class CodeIndex implements CodeSearch, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CodeIndex.class);
    static final int NUM_TO_SCORE = 40;
    static final int RRF_RANK_CONSTANT = 60;
    static final int MAX_QUERY_TERMS = 64;
    static final int MAX_HITS_PER_FILE = 2;
    // The code nearest the cursor says most about what comes next: its tokens weigh more (measured with
    // scripts/retrieval-bench; Tabby weighs the whole prefix alike).
    static final int NEAR_LINES = 3;
    static final float NEAR_BOOST = 3f;
    static final long REFRESH_NANOS = 10_000_000_000L;
    // Tabby's CodeSearchParams defaults. Its embedding score is the fraction of equal sign bits of binarised vectors,
    // about 1 - angle/pi; 0.75 of them is an angle of pi/4, a cosine of 0.707.
    static final double MIN_BM25_SCORE = 8.0;
    static final double MIN_EMBEDDING_COSINE = Math.cos(Math.PI / 4);
    static final double MIN_RRF_SCORE = 0.028;

    private final Directory directory;
    private final SearcherManager searchers;
    private final Analyzer analyzer = new CodeAnalyzer();
    private final Optional<Embedder> embedder;
    private final SearchMode mode;
    private final AtomicLong lastRefresh = new AtomicLong(System.nanoTime());

    private CodeIndex(Directory directory, SearcherManager searchers, Optional<Embedder> embedder, SearchMode mode) {
        this.directory = directory;
        this.searchers = searchers;
        this.embedder = embedder;
        this.mode = mode;
    }

    /**
     * Opens the index in {@code dir}. Absent, corrupt or unreadable: one log line and empty (completions go on without
     * context). The vectors are used only when {@code embedder} is the model the index was built with, of the same
     * dimension; otherwise one log line and BM25 alone. {@code wanted} is the ranking asked for; it falls back to
     * BM25 when the index or the server has no embedding model.
     */
    public static Optional<CodeIndex> open(Path dir, Optional<Embedder> embedder, SearchMode wanted) {
        if (!Files.isDirectory(dir)) {
            log.warn("no code index at {}: completions get no repository context (run 'catnap index')", dir);
            return Optional.empty();
        }
        Directory directory = null;
        try {
            directory = FSDirectory.open(dir);
            SearcherManager searchers = new SearcherManager(directory, null);
            Map<String, String> data = commitData(searchers);
            String model = data.getOrDefault(IndexSchema.COMMIT_EMBEDDING_MODEL, "");
            int dims = Integer.parseInt(data.getOrDefault(IndexSchema.COMMIT_DIMENSIONS, "0"));
            Optional<Embedder> usable = embedder;
            if (model.isEmpty() || dims == 0) {
                if (embedder.isPresent() && wanted != SearchMode.BM25) {
                    log.info("code index {} has no embeddings: searching with BM25 only", dir);
                }
                usable = Optional.empty();
            } else if (embedder.isPresent() && embedder.get().model().dimensions() != dims) {
                log.warn(
                        "code index {} holds {}-dimension vectors from {} but the embedding model has {}: searching with BM25 only"
                                + " (run 'catnap index' with this model)",
                        dir,
                        dims,
                        model,
                        embedder.get().model().dimensions());
                usable = Optional.empty();
            } else if (embedder.isPresent() && !embedder.get().modelId().equals(model)) {
                log.warn(
                        "code index {} was embedded with {}, not {}: searching with BM25 only (run 'catnap index' with this model)",
                        dir,
                        model,
                        embedder.get().modelId());
                usable = Optional.empty();
            }
            SearchMode mode = usable.isEmpty() ? SearchMode.BM25 : wanted;
            return Optional.of(new CodeIndex(directory, searchers, usable, mode));
        } catch (IndexNotFoundException e) {
            log.warn("no code index at {}: completions get no repository context (run 'catnap index')", dir);
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "code index {} cannot be opened ({}): completions get no repository context (run 'catnap index --rebuild')",
                    dir,
                    e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + firstLine(e.getMessage())));
        }
        if (directory != null) {
            try {
                directory.close();
            } catch (IOException ignored) {
                // opening failed; nothing to release
            }
        }
        return Optional.empty();
    }

    private static Map<String, String> commitData(SearcherManager searchers) throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            return new HashMap<>(
                    ((DirectoryReader) s.getIndexReader()).getIndexCommit().getUserData());
        } finally {
            searchers.release(s);
        }
    }

    /** The query vector {@link #search(CodeSearch.Request, SearchMode)} would use; null without an embedding model. */
    float[] queryVector(String text) {
        return embedder.map(e -> e.embedTail(text)).orElse(null);
    }

    @Override
    public SearchMode mode() {
        return mode;
    }

    @Override
    public List<String> sources() {
        IndexSearcher s = acquire();
        try {
            var out = new LinkedHashSet<String>();
            for (LeafReaderContext leaf : s.getIndexReader().leaves()) {
                Terms terms = leaf.reader().terms(IndexSchema.SOURCE);
                if (terms == null) continue;
                TermsEnum e = terms.iterator();
                for (BytesRef t = e.next(); t != null; t = e.next()) {
                    if (e.docFreq() > 0) out.add(t.utf8ToString());
                }
            }
            return out.stream().sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            release(s);
        }
    }

    @Override
    public List<Hit> search(CodeSearch.Request q) {
        return search(q, mode);
    }

    /** As {@link #search(CodeSearch.Request)} with another ranking (the benchmark compares them on one index). */
    public List<Hit> search(CodeSearch.Request q, SearchMode ranking) {
        if (ranking != SearchMode.BM25 && embedder.isEmpty()) ranking = SearchMode.BM25;
        float[] v = ranking == SearchMode.BM25 ? null : embedder.get().embedTail(q.text());
        return search(q, ranking, v);
    }

    /** With the query's vector already computed (so a benchmark of the index does not measure the embedding model). */
    List<Hit> search(CodeSearch.Request q, SearchMode ranking, float[] queryVector) {
        IndexSearcher s = acquire();
        try {
            Query filter = filter(q);
            List<Scored> bm25 = ranking == SearchMode.VECTOR ? List.of() : bm25(s, q.text(), filter);
            List<Scored> knn =
                    ranking == SearchMode.BM25 || queryVector == null ? List.of() : knn(s, queryVector, filter);
            return fuse(s, bm25, knn, ranking, q);
        } catch (IOException e) {
            log.warn("code search failed: {}", e.toString());
            return List.of();
        } finally {
            release(s);
        }
    }

    private record Scored(int doc, double score) {}

    private static Query filter(CodeSearch.Request q) {
        var b = new BooleanQuery.Builder();
        b.add(new TermQuery(new Term(IndexSchema.KIND, "chunk")), BooleanClause.Occur.FILTER);
        q.source()
                .ifPresent(src -> b.add(new TermQuery(new Term(IndexSchema.SOURCE, src)), BooleanClause.Occur.FILTER));
        q.language()
                .ifPresent(l -> b.add(new TermQuery(new Term(IndexSchema.LANGUAGE, l)), BooleanClause.Occur.FILTER));
        if (q.excludePath().isPresent()) {
            b.add(new TermQuery(new Term(IndexSchema.FILEPATH, q.excludePath().get())), BooleanClause.Occur.MUST_NOT);
        }
        return b.build();
    }

    private List<Scored> bm25(IndexSearcher s, String text, Query filter) throws IOException {
        Set<String> terms = terms(text);
        if (terms.isEmpty()) return List.of();
        Set<String> near = terms(lastLines(text, NEAR_LINES));
        var words = new BooleanQuery.Builder();
        for (String t : terms) {
            Query term = new TermQuery(new Term(IndexSchema.CODE, t));
            words.add(near.contains(t) ? new BoostQuery(term, NEAR_BOOST) : term, BooleanClause.Occur.SHOULD);
        }
        Query query = new BooleanQuery.Builder()
                .add(words.build(), BooleanClause.Occur.MUST)
                .add(filter, BooleanClause.Occur.FILTER)
                .build();
        return scored(s.search(query, NUM_TO_SCORE));
    }

    private List<Scored> knn(IndexSearcher s, float[] v, Query filter) throws IOException {
        TopDocs top = s.search(new KnnFloatVectorQuery(IndexSchema.VECTOR, v, NUM_TO_SCORE, filter), NUM_TO_SCORE);
        var out = new ArrayList<Scored>();
        for (ScoreDoc d : top.scoreDocs)
            out.add(new Scored(d.doc, 2.0 * d.score - 1.0)); // Lucene's cosine score is (1+cos)/2
        return out;
    }

    private static List<Scored> scored(TopDocs top) {
        var out = new ArrayList<Scored>(top.scoreDocs.length);
        for (ScoreDoc d : top.scoreDocs) out.add(new Scored(d.doc, d.score));
        return out;
    }

    /** The last {@code n} lines of a text (the cursor's own line counts). */
    static String lastLines(String text, int n) {
        int at = text.length();
        for (int i = 0; i < n && at > 0; i++) at = text.lastIndexOf('\n', at - 1);
        return at < 0 ? text : text.substring(at + 1);
    }

    /** The query's distinct code tokens, those nearest its end first kept when there are too many. */
    Set<String> terms(String text) {
        var all = new ArrayList<String>();
        try (TokenStream ts = analyzer.tokenStream(IndexSchema.CODE, text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) all.add(term.toString());
            ts.end();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringReader does not fail
        }
        var out = new LinkedHashSet<String>();
        for (int i = all.size() - 1; i >= 0 && out.size() < MAX_QUERY_TERMS; i--) out.add(all.get(i));
        return out;
    }

    private List<Hit> fuse(
            IndexSearcher s, List<Scored> bm25, List<Scored> knn, SearchMode ranking, CodeSearch.Request q)
            throws IOException {
        record Fused(int doc, double[] scores) {} // rrf, bm25, embedding
        Map<Integer, Fused> byDoc = new LinkedHashMap<>();
        for (int i = 0; i < knn.size(); i++) {
            byDoc.put(knn.get(i).doc(), new Fused(knn.get(i).doc(), new double[] {
                rank(i), -1, knn.get(i).score()
            }));
        }
        for (int i = 0; i < bm25.size(); i++) {
            Scored h = bm25.get(i);
            Fused f = byDoc.get(h.doc());
            if (f != null) {
                f.scores()[0] += rank(i);
                f.scores()[1] = h.score();
            } else {
                byDoc.put(h.doc(), new Fused(h.doc(), new double[] {rank(i), h.score(), 0}));
            }
        }
        List<Fused> ordered = new ArrayList<>(byDoc.values());
        ordered.sort(Comparator.comparingDouble((Fused f) -> -f.scores()[0]));
        var perFile = new HashMap<String, Integer>();
        var hits = new ArrayList<Hit>();
        var fields = Set.of(
                IndexSchema.SOURCE,
                IndexSchema.FILEPATH,
                IndexSchema.LANGUAGE,
                IndexSchema.BODY,
                IndexSchema.START_LINE,
                IndexSchema.END_LINE);
        var stored = s.storedFields();
        for (Fused f : ordered) {
            if (hits.size() >= q.limit()) break;
            double[] sc = f.scores();
            if (q.thresholds() && !passes(sc, ranking)) continue;
            Document d = stored.document(f.doc(), fields);
            String key = IndexSchema.fileKey(d.get(IndexSchema.SOURCE), d.get(IndexSchema.FILEPATH));
            int n = perFile.merge(key, 1, Integer::sum);
            if (n > MAX_HITS_PER_FILE) continue;
            hits.add(new Hit(
                    d.get(IndexSchema.SOURCE),
                    d.get(IndexSchema.FILEPATH),
                    d.get(IndexSchema.LANGUAGE),
                    d.getField(IndexSchema.START_LINE).numericValue().intValue(),
                    d.getField(IndexSchema.END_LINE).numericValue().intValue(),
                    d.get(IndexSchema.BODY),
                    sc[0],
                    sc[1],
                    sc[2]));
        }
        return hits;
    }

    /**
     * Tabby keeps a hybrid hit only when both rankings found it well enough. BM25 alone has no minimum: Tabby never
     * searches without its embeddings, and a fixed BM25 score means little across corpora (a helper in a 7-file
     * repository scores about 4); the rank order and the prompt's 768-byte budget (one or two chunks) bound the noise.
     */
    private static boolean passes(double[] sc, SearchMode ranking) {
        return switch (ranking) {
            case BM25 -> sc[1] > 0;
            case VECTOR -> sc[2] > MIN_EMBEDDING_COSINE;
            case HYBRID -> sc[1] > MIN_BM25_SCORE && sc[2] > MIN_EMBEDDING_COSINE && sc[0] > MIN_RRF_SCORE;
        };
    }

    private static double rank(int index) {
        return 1.0 / (RRF_RANK_CONSTANT + index + 1);
    }

    private IndexSearcher acquire() {
        long now = System.nanoTime();
        long last = lastRefresh.get();
        if (now - last > REFRESH_NANOS && lastRefresh.compareAndSet(last, now)) {
            try {
                searchers.maybeRefresh(); // cheap when nothing was committed
            } catch (IOException e) {
                log.warn("code index refresh failed, searching the last good view: {}", e.toString());
            }
        }
        try {
            return searchers.acquire();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void release(IndexSearcher s) {
        try {
            searchers.release(s);
        } catch (IOException e) {
            log.warn("releasing a code index searcher failed: {}", e.toString());
        }
    }

    /** Reads a newer commit now instead of within {@link #REFRESH_NANOS} (for tests and after an in-process index run). */
    public void refresh() throws IOException {
        searchers.maybeRefreshBlocking();
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public void close() {
        try {
            searchers.close();
            directory.close();
        } catch (IOException e) {
            log.warn("closing the code index failed: {}", e.toString());
        }
    }
}
