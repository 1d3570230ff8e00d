package dev.catnap.registry;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code catnap download}: puts a registry model into the cache in Tabby's layout, offline-first.
 * A model recorded as verified is returned without touching the network; one present but never verified is hashed
 * locally; otherwise the registry (fetched, or its cached copy) names the files, which download in parallel,
 * resume across runs, and are verified before they get their final names. A per-model file lock makes concurrent
 * downloads of one model wait for each other.
 */
public final class Downloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Downloader.class);
    static final String LOCK_FILE = ".catnap-download.lock";
    private static final Pattern ANY_PART = Pattern.compile("model-\\d{5}-of-\\d{5}\\.gguf");

    private final ModelCache cache;
    private final DownloadSettings settings;
    private final HttpClient http;

    public Downloader(Path modelsDir, DownloadSettings settings) {
        this.cache = new ModelCache(modelsDir);
        this.settings = settings;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(settings.connectTimeout())
                .build();
    }

    public DownloadResult download(DownloadRequest request) throws DownloadException, InterruptedException {
        ModelId id = request.id();
        Path dir = cache.modelDir(id);

        if (!request.force()) {
            Optional<LocalModel> verified = verifiedWithoutLock(id);
            if (verified.isPresent()) {
                checkKind(request, verified.get());
                log.info("{} is present and verified in {}", id, dir);
                return new DownloadResult(verified.get(), DownloadResult.Outcome.ALREADY_VERIFIED, 0);
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO, "cannot create model directory " + dir + ": " + describe(e), e);
        }
        try (FileLock ignored = lock(id, dir)) {
            return downloadLocked(request, dir);
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO, "cannot use lock file in " + dir + ": " + describe(e), e);
        }
    }

    private DownloadResult downloadLocked(DownloadRequest request, Path dir)
            throws DownloadException, InterruptedException {
        ModelId id = request.id();
        if (!request.force()) {
            // another run may have finished it while we waited for the lock; or it is a Tabby-made cache never verified
            // here
            Optional<DownloadResult> local = usableWithoutNetwork(id, dir);
            if (local.isPresent()) {
                checkKind(request, local.get().model());
                return local.get();
            }
        }

        RegistryLoader.Loaded registry = new RegistryLoader(http, cache.modelsDir(), settings.registryTimeout())
                .load(id.org(), request.registry());
        ModelInfo entry = registry.find(id.name())
                .orElseThrow(() -> new DownloadException(
                        DownloadException.Kind.BAD_INPUT,
                        "model " + id + " is not in the registry " + registry.source() + " (it has "
                                + registry.entries().size() + " models"
                                + registry.entries().stream()
                                        .limit(8)
                                        .map(ModelInfo::name)
                                        .reduce((a, b) -> a + ", " + b)
                                        .map(s -> ": " + s + (registry.entries().size() > 8 ? ", ..." : ""))
                                        .orElse("")
                                + ")"));
        if (request.kind().isPresent()) request.kind().get().requireSupportedOrThrow(id, entry.prompt(), entry.chat());
        List<ModelInfo.PartSpec> parts = entry.parts();
        if (parts.isEmpty())
            throw new DownloadException(
                    DownloadException.Kind.BAD_INPUT, "registry entry " + id + " has neither urls nor partition_urls");
        List<List<String>> mirrors = new ArrayList<>();
        for (ModelInfo.PartSpec p : parts) mirrors.add(mirrors(id, p));

        Path ggml = dir.resolve(ModelCache.GGML_DIR);
        try {
            VerifiedMarker.delete(dir);
            Files.createDirectories(ggml);
            removeForeignParts(ggml, parts.size());
            Json.writeAtomically(dir.resolve(ModelCache.TABBY_JSON), Json.bytes(entry));
            if (request.force()) {
                for (ModelInfo.PartSpec p : parts)
                    Files.deleteIfExists(PartFetcher.partialFile(ggml.resolve(p.fileName())));
            }
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO, "cannot write model directory " + dir + ": " + describe(e), e);
        }

        long start = System.nanoTime();
        List<String> hashes;
        long fetched;
        try (Progress progress =
                        new Progress(id.toString(), parts.size(), settings.terminalProgress(), settings.logInterval());
                ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(
                        Thread.ofVirtual().name("download-watchdog").factory());
                ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            PartFetcher fetcher = new PartFetcher(http, settings, watchdog, progress);
            CompletionService<String> completion = new ExecutorCompletionService<>(workers);
            List<Future<String>> futures = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++) {
                ModelInfo.PartSpec p = parts.get(i);
                List<String> urls = mirrors.get(i);
                futures.add(completion.submit(
                        () -> fetchPart(fetcher, id, p, ggml.resolve(p.fileName()), urls, request.force(), progress)));
            }
            hashes = awaitAll(completion, futures);
            fetched = progress.fetched();
        }

        try {
            List<VerifiedMarker.Part> marker = new ArrayList<>();
            for (int i = 0; i < parts.size(); i++)
                marker.add(VerifiedMarker.Part.of(ggml.resolve(parts.get(i).fileName()), hashes.get(i)));
            new VerifiedMarker(marker).write(dir);
            LocalModel model = ModelCache.load(id, dir);
            double seconds = (System.nanoTime() - start) / 1e9;
            log.info(
                    "{} downloaded and verified: {} fetched in {} s into {}",
                    id,
                    Progress.mib(fetched),
                    String.format(Locale.ROOT, "%.1f", seconds),
                    dir);
            return new DownloadResult(model, DownloadResult.Outcome.DOWNLOADED, fetched);
        } catch (IOException e) {
            throw new DownloadException(
                    DownloadException.Kind.LOCAL_IO, "cannot record verification in " + dir + ": " + describe(e), e);
        }
    }

    private String fetchPart(
            PartFetcher fetcher,
            ModelId id,
            ModelInfo.PartSpec p,
            Path target,
            List<String> urls,
            boolean force,
            Progress progress)
            throws DownloadException, InterruptedException {
        String label = id + (p.count() > 1 ? " part " + p.index() + "/" + p.count() : "");
        if (!force && Files.isRegularFile(target) && !p.sha256().isEmpty()) {
            String actual = PartFetcher.sha256(target);
            if (actual.equals(p.sha256())) {
                long size = sizeOf(target);
                progress.part(p.index() - 1, size, size);
                log.info("{}: {} already present and matches its sha256", label, target.getFileName());
                return actual;
            }
            log.info(
                    "{}: {} present but its sha256 is {}, not {}; downloading it again",
                    label,
                    target.getFileName(),
                    actual,
                    p.sha256());
        }
        return fetcher.fetch(label, p.index() - 1, target, urls, p.sha256());
    }

    /** Results in part order; the first failure cancels the other parts at once (their .part files stay for a resume). */
    private static List<String> awaitAll(CompletionService<String> completion, List<Future<String>> futures)
            throws DownloadException, InterruptedException {
        try {
            for (int i = 0; i < futures.size(); i++)
                completion.take().get(); // in completion order: a failure shows at once
            List<String> results = new ArrayList<>();
            for (Future<String> f : futures) results.add(f.resultNow());
            return results;
        } catch (ExecutionException e) {
            for (Future<String> f : futures) f.cancel(true);
            Throwable cause = e.getCause();
            if (cause instanceof DownloadException de) throw de;
            if (cause instanceof InterruptedException ie) throw ie;
            throw new IllegalStateException("download failed: " + cause, cause);
        } catch (InterruptedException e) {
            for (Future<String> f : futures) f.cancel(true);
            throw e;
        }
    }

    /** The model if its files are unchanged since they were verified; reads only local files and takes no lock. */
    private Optional<LocalModel> verifiedWithoutLock(ModelId id) {
        try {
            return cache.find(id).filter(cache::isVerified);
        } catch (RuntimeException e) {
            return Optional.empty(); // an unreadable tabby.json is repaired by downloading
        }
    }

    private Optional<DownloadResult> usableWithoutNetwork(ModelId id, Path dir) throws DownloadException {
        Optional<LocalModel> present;
        try {
            present = cache.find(id);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        if (present.isEmpty()) return Optional.empty();
        LocalModel model = present.get();
        if (cache.isVerified(model)) {
            log.info("{} is present and verified in {}", id, dir);
            return Optional.of(new DownloadResult(model, DownloadResult.Outcome.ALREADY_VERIFIED, 0));
        }
        ModelInfo info;
        try {
            info = Json.readModelInfo(dir.resolve(ModelCache.TABBY_JSON));
        } catch (IOException e) {
            return Optional.empty();
        }
        List<String> expected = info.expectedHashes();
        if (expected.isEmpty() || expected.stream().allMatch(String::isEmpty)) {
            log.warn("{} is present in {} but its tabby.json has no sha256 to verify against; using it as is", id, dir);
            return Optional.of(new DownloadResult(model, DownloadResult.Outcome.PRESENT_UNVERIFIABLE, 0));
        }
        if (expected.size() != model.ggufParts().size()) return Optional.empty();
        List<VerifiedMarker.Part> marker = new ArrayList<>();
        for (int i = 0; i < expected.size(); i++) {
            Path f = model.ggufParts().get(i);
            log.info("{}: hashing {} to verify it", id, f.getFileName());
            String actual = PartFetcher.sha256(f);
            if (!actual.equals(expected.get(i))) {
                log.warn(
                        "{}: {} has sha256 {}, expected {}; it will be downloaded again",
                        id,
                        f.getFileName(),
                        actual,
                        expected.get(i));
                return Optional.empty();
            }
            try {
                marker.add(VerifiedMarker.Part.of(f, actual));
            } catch (IOException e) {
                return Optional.empty();
            }
        }
        try {
            new VerifiedMarker(marker).write(dir);
        } catch (IOException e) {
            log.warn("{}: verified, but cannot record it in {}: {}", id, dir, describe(e));
        }
        log.info("{} is present in {} and matches its sha256; no download needed", id, dir);
        return Optional.of(new DownloadResult(model, DownloadResult.Outcome.VERIFIED_LOCAL_FILES, 0));
    }

    private static void checkKind(DownloadRequest request, LocalModel model) throws DownloadException {
        if (request.kind().isPresent())
            request.kind().get().requireSupportedOrThrow(model.id(), model.promptTemplate(), model.chatTemplate());
    }

    /**
     * The URLs to try for a part, best first. With {@code TABBY_DOWNLOAD_HOST} set only URLs containing it qualify (as in
     * Tabby); without it, huggingface.co URLs come first and the other mirrors follow. {@code TABBY_HUGGINGFACE_HOST_OVERRIDE}
     * then replaces huggingface.co in every URL.
     */
    List<String> mirrors(ModelId id, ModelInfo.PartSpec part) throws DownloadException {
        String host = blankToNull(settings.env().get("TABBY_DOWNLOAD_HOST"));
        String override = blankToNull(settings.env().get("TABBY_HUGGINGFACE_HOST_OVERRIDE"));
        List<String> urls =
                part.urls().stream().filter(u -> u != null && !u.isBlank()).toList();
        List<String> ordered;
        if (host != null) {
            ordered = urls.stream().filter(u -> u.contains(host)).toList();
            if (ordered.isEmpty()) {
                throw new DownloadException(
                        DownloadException.Kind.BAD_INPUT,
                        "no URL of " + id + (part.count() > 1 ? " part " + part.index() : "")
                                + " is on TABBY_DOWNLOAD_HOST=" + host + " (its URLs: " + String.join(", ", urls)
                                + ")");
            }
        } else {
            ordered = Stream.concat(
                            urls.stream().filter(u -> u.contains("huggingface.co")),
                            urls.stream().filter(u -> !u.contains("huggingface.co")))
                    .toList();
            if (ordered.isEmpty())
                throw new DownloadException(
                        DownloadException.Kind.BAD_INPUT,
                        "registry entry " + id + " lists no URL for " + part.fileName());
        }
        var result = new LinkedHashSet<String>();
        for (String u : ordered) result.add(override == null ? u : u.replace("huggingface.co", override));
        return List.copyOf(result);
    }

    /** Parts of another partitioning (the registry changed) would make the directory ambiguous. */
    private static void removeForeignParts(Path ggml, int count) throws IOException {
        String suffix = "-of-%05d.gguf".formatted(count);
        try (Stream<Path> files = Files.list(ggml)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (ANY_PART.matcher(n).matches() && !n.endsWith(suffix)) {
                    log.info("removing {} (the registry now splits the model into {} files)", f, count);
                    Files.delete(f);
                }
            }
        }
    }

    private FileLock lock(ModelId id, Path dir) throws IOException, DownloadException, InterruptedException {
        Path lockFile = dir.resolve(LOCK_FILE);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long deadline = System.nanoTime() + settings.lockTimeout().toNanos();
        boolean announced = false;
        try {
            while (true) {
                FileLock lock;
                try {
                    lock = channel.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null; // held by another download in this JVM
                }
                if (lock != null) return new ClosingLock(channel, lock);
                if (!announced) {
                    log.info("another download of {} is running (lock {}); waiting for it", id, lockFile);
                    announced = true;
                }
                if (System.nanoTime() > deadline) {
                    throw new DownloadException(
                            DownloadException.Kind.LOCKED,
                            "another download of " + id + " has held " + lockFile + " for over "
                                    + settings.lockTimeout().toSeconds() + " s; giving up");
                }
                Thread.sleep(100);
            }
        } catch (IOException | DownloadException | InterruptedException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** A file lock whose close also closes its channel. */
    private static final class ClosingLock extends FileLock {
        private final FileLock lock;

        ClosingLock(FileChannel channel, FileLock lock) {
            super(channel, lock.position(), lock.size(), lock.isShared());
            this.lock = lock;
        }

        @Override
        public boolean isValid() {
            return lock.isValid();
        }

        @Override
        public void release() throws IOException {
            try {
                lock.release();
            } finally {
                channel().close();
            }
        }
    }

    private static long sizeOf(Path f) throws DownloadException {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.LOCAL_IO, "cannot read " + f + ": " + describe(e), e);
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    /** File-system exceptions carry just the path as message; say what went wrong. */
    static String describe(IOException e) {
        String type = switch (e) {
            case java.nio.file.AccessDeniedException a -> "permission denied";
            case java.nio.file.FileSystemException f when f.getReason() != null -> f.getReason();
            case java.nio.file.FileAlreadyExistsException f -> "a file is in the way";
            case java.nio.file.NoSuchFileException n -> "no such file or directory";
            default -> null;
        };
        String msg = Json.oneLine(e);
        if (type == null) return msg;
        return e instanceof java.nio.file.FileSystemException f && f.getFile() != null
                ? f.getFile() + ": " + type
                : type;
    }

    @Override
    public void close() {
        http.close();
    }
}
