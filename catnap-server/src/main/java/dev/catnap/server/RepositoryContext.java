package dev.catnap.server;

import dev.catnap.index.CodeLanguage;
import dev.catnap.index.CodeSearch;
import dev.catnap.index.Repository;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user's code for completions and code search: the configured repositories and the code index, which opens in
 * the background while the models load (a completion that comes before it is ready gets no repository context, as in
 * Tabby). A request's {@code git_url} picks the repository as Tabby's {@code closest_match} does: the same canonical
 * URL, else the same repository name, ties to the alphabetically smallest URL. With no repository configured, the
 * repositories the index holds are used (an image with a baked index needs no flags).
 */
public final class RepositoryContext implements CompletionPrompt.Retrieval {
    private static final Logger log = LoggerFactory.getLogger(RepositoryContext.class);
    /** Tabby's {@code num_to_return}. */
    static final int NUM_TO_RETURN = 20;

    private final List<Repository> configured;
    private final CompletableFuture<Optional<CodeSearch>> index;
    private volatile List<Repository> repositories;

    public RepositoryContext(List<Repository> configured, CompletableFuture<Optional<CodeSearch>> index) {
        this.configured = List.copyOf(configured);
        this.index = index;
    }

    /** The index if it is open by now. */
    Optional<CodeSearch> index() {
        return index.getNow(Optional.empty());
    }

    List<Repository> repositories() {
        List<Repository> r = repositories;
        if (r != null) return r;
        Optional<CodeSearch> search = index();
        if (search.isEmpty()) return configured;
        var known = new ArrayList<>(configured);
        List<String> sources = search.get().sources();
        if (configured.isEmpty()) {
            for (String s : sources) known.add(new Repository(null, s));
        } else {
            for (Repository c : configured) {
                if (!sources.contains(c.source()))
                    log.warn(
                            "repository {} ({}) is not in the code index yet: run 'catnap index'",
                            c.name(),
                            c.gitUrl());
            }
        }
        repositories = List.copyOf(known);
        return repositories;
    }

    /** The source key of the repository a request's git_url means, if any is configured (or indexed). */
    Optional<String> sourceFor(String gitUrl) {
        String canonical = Repository.canonical(gitUrl);
        String name = Repository.nameOf(gitUrl);
        List<Repository> repos = repositories();
        for (Repository r : repos)
            if (r.source().equals(canonical) || Repository.canonical(r.gitUrl()).equals(canonical))
                return Optional.of(r.source());
        return repos.stream()
                .filter(r -> r.name().equals(name))
                .map(Repository::source)
                .min(Comparator.naturalOrder());
    }

    /** The index's snippets for a completion in the editor's {@code language}; none when the index has no such language. */
    @Override
    public List<CompletionPrompt.Snippet> snippets(
            CompletionPrompt.Segments segments, String language, int remainingBytes) {
        Optional<CodeSearch> search = index();
        if (search.isEmpty() || segments.gitUrl().isEmpty()) return List.of();
        Optional<String> source = sourceFor(segments.gitUrl().get());
        Optional<String> indexLanguage = CodeLanguage.ofEditorId(language);
        if (source.isEmpty() || indexLanguage.isEmpty()) return List.of();
        var request = new CodeSearch.Request(
                segments.prefix(), source, indexLanguage, segments.filepath(), NUM_TO_RETURN, true);
        var out = new ArrayList<CompletionPrompt.Snippet>();
        for (CodeSearch.Hit h : search.get().search(request))
            out.add(new CompletionPrompt.Snippet(h.filepath(), h.body(), h.rrf()));
        return out;
    }
}
