package dev.catnap.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class DownloaderTest {
    static final String FIM = "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>";

    @TempDir
    Path models;

    FakeMirror mirror;
    final byte[] gguf = bytes(300_000, 1);

    @BeforeEach
    void start() throws IOException {
        mirror = new FakeMirror();
    }

    @AfterEach
    void stop() {
        mirror.close();
    }

    static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        b[0] = 'G';
        b[1] = 'G';
        b[2] = 'U';
        b[3] = 'F';
        return b;
    }

    static String sha(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static String json(Object o) {
        try {
            return JsonMapper.builder().build().writeValueAsString(o);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static Map<String, Object> entry(String name, String sha, String... urls) {
        return Map.of("name", name, "prompt_template", FIM, "urls", List.of(urls), "sha256", sha);
    }

    DownloadSettings settings(Map<String, String> env) {
        return DownloadSettings.defaults(env, false)
                .withRetries(2, Duration.ofMillis(10), Duration.ofMillis(40))
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2), Duration.ofSeconds(10))
                .withLogInterval(Duration.ofMillis(200));
    }

    DownloadResult download(String id, Optional<ModelKind> kind, boolean force) throws Exception {
        return download(id, kind, force, Map.of());
    }

    DownloadResult download(String id, Optional<ModelKind> kind, boolean force, Map<String, String> env)
            throws Exception {
        try (var d = new Downloader(models, settings(env))) {
            return d.download(
                    new DownloadRequest(ModelId.parse(id), Optional.of(mirror.url("/models.json")), force, kind));
        }
    }

    void registry(Object... entries) {
        mirror.serve("/models.json", json(List.of(entries)));
    }

    Path file(String id) {
        ModelId m = ModelId.parse(id);
        return models.resolve(m.org()).resolve(m.name()).resolve("ggml/model-00001-of-00001.gguf");
    }

    @Test
    void downloadsIntoTabbyLayoutVerifiesAndThenNeverTouchesTheNetwork() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(
                entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")),
                Map.of("name", "Other", "urls", List.of("x"), "sha256", ""));

        DownloadResult r = download("StarCoder-1B", Optional.of(ModelKind.COMPLETION), false);

        assertThat(r.outcome()).isEqualTo(DownloadResult.Outcome.DOWNLOADED);
        assertThat(r.bytesFetched()).isEqualTo(gguf.length);
        Path dir = models.resolve("TabbyML/StarCoder-1B");
        assertThat(r.model().entryFile()).isEqualTo(dir.resolve("ggml/model-00001-of-00001.gguf"));
        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        assertThat(r.model().promptTemplate()).contains(FIM);
        var tabbyJson =
                JsonMapper.builder().build().readTree(dir.resolve("tabby.json").toFile());
        assertThat(tabbyJson.get("name").asText()).isEqualTo("StarCoder-1B");
        assertThat(tabbyJson.get("sha256").asText()).isEqualTo(sha(gguf));
        assertThat(tabbyJson.has("chat_template")).isFalse();
        assertThat(models.resolve("TabbyML/models.json")).exists(); // registry cached where Tabby caches it
        assertThat(dir.resolve("ggml/model-00001-of-00001.gguf.part")).doesNotExist();
        var cache = new ModelCache(models);
        assertThat(cache.inspect()).singleElement().satisfies(c -> {
            assertThat(c.status()).isEqualTo(CachedModel.Status.VERIFIED);
            assertThat(c.sizeBytes()).isEqualTo(gguf.length);
        });

        mirror.close(); // offline from now on
        DownloadResult again = download("StarCoder-1B", Optional.empty(), false);
        assertThat(again.outcome()).isEqualTo(DownloadResult.Outcome.ALREADY_VERIFIED);
        assertThat(again.bytesFetched()).isZero();

        Files.write(r.model().entryFile(), bytes(10, 9)); // a changed file is no longer vouched for
        assertThat(cache.inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.UNVERIFIED);
    }

    @Test
    void tabbyMadeCacheIsVerifiedLocallyWithoutTheNetwork() throws Exception {
        Path dir = models.resolve("TabbyML/StarCoder-1B");
        Files.createDirectories(dir.resolve("ggml"));
        Files.write(dir.resolve("ggml/model-00001-of-00001.gguf"), gguf);
        Files.writeString(
                dir.resolve("tabby.json"), json(entry("StarCoder-1B", sha(gguf), "https://huggingface.co/x.gguf")));
        mirror.close();

        DownloadResult r = download("StarCoder-1B", Optional.of(ModelKind.COMPLETION), false);

        assertThat(r.outcome()).isEqualTo(DownloadResult.Outcome.VERIFIED_LOCAL_FILES);
        assertThat(new ModelCache(models).inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.VERIFIED);
    }

    @Test
    void failedRegistryFetchFallsBackToTheCachedCopy() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        Files.createDirectories(models.resolve("TabbyML"));
        Files.writeString(
                models.resolve("TabbyML/models.json"),
                json(List.of(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")))));
        mirror.fault("/models.json", new FakeMirror.Fault.Status(503), 100);

        assertThat(download("StarCoder-1B", Optional.empty(), false).outcome())
                .isEqualTo(DownloadResult.Outcome.DOWNLOADED);

        Files.delete(models.resolve("TabbyML/models.json"));
        assertThatThrownBy(() -> download("Other", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class,
                        e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.REGISTRY_UNAVAILABLE))
                .hasMessageContaining("HTTP 503")
                .hasMessageContaining("no cached copy");
    }

    @Test
    void unknownModelNamesTheRegistry() {
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        assertThatThrownBy(() -> download("Nope", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.BAD_INPUT))
                .hasMessageContaining("TabbyML/Nope is not in the registry")
                .hasMessageContaining("StarCoder-1B");
    }

    @Test
    void partitionedModelDownloadsAllPartsInParallel() throws Exception {
        byte[][] parts = {bytes(120_000, 11), bytes(130_000, 12), bytes(50_000, 13)};
        List<Map<String, Object>> partition = new ArrayList<>();
        for (int i = 0; i < parts.length; i++) {
            mirror.serve("/p" + i, parts[i]);
            partition.add(Map.of("urls", List.of(mirror.url("/p" + i)), "sha256", sha(parts[i])));
        }
        mirror.slow(
                20); // overlapping transfers make the parallelism observable in wall time only; correctness is what we
        // check
        registry(Map.of("name", "Qwen2-Chat", "chat_template", "{{m}}", "partition_urls", partition));

        DownloadResult r = download("Qwen2-Chat", Optional.of(ModelKind.CHAT), false);

        assertThat(r.model().ggufParts())
                .extracting(p -> p.getFileName().toString())
                .containsExactly("model-00001-of-00003.gguf", "model-00002-of-00003.gguf", "model-00003-of-00003.gguf");
        for (int i = 0; i < parts.length; i++)
            assertThat(Files.readAllBytes(r.model().ggufParts().get(i))).isEqualTo(parts[i]);
        assertThat(new ModelCache(models).isVerified(r.model())).isTrue();
    }

    @Test
    void aFailingPartFailsTheModelAndCancelsTheOthers() throws Exception {
        byte[] big = bytes(400_000, 21);
        mirror.serve("/p0", big)
                .serve("/p1", bytes(20_000, 22))
                .slow(40); // part 1 needs ~1 s, part 2 fails after ~0.1 s
        registry(Map.of(
                "name",
                "Split",
                "prompt_template",
                FIM,
                "partition_urls",
                List.of(
                        Map.of("urls", List.of(mirror.url("/p0")), "sha256", sha(big)),
                        Map.of("urls", List.of(mirror.url("/p1")), "sha256", "1".repeat(64)))));

        assertThatThrownBy(() -> download("Split", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.CHECKSUM))
                .hasMessageContaining("model-00002-of-00002.gguf");
        Path dir = models.resolve("TabbyML/Split");
        assertThat(dir.resolve(VerifiedMarker.FILE_NAME)).doesNotExist();
        assertThat(dir.resolve("ggml/model-00002-of-00002.gguf")).doesNotExist();
        assertThat(dir.resolve("ggml/model-00001-of-00002.gguf")).doesNotExist(); // cancelled, not finished
        assertThat(new ModelCache(models).inspect())
                .singleElement()
                .extracting(CachedModel::status)
                .isEqualTo(CachedModel.Status.INCOMPLETE);
    }

    @Test
    void checksumMismatchRemovesThePartialFileAndNamesBothHashes() {
        String wrong = "0".repeat(64);
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", wrong, mirror.url("/sc.gguf")));

        assertThatThrownBy(() -> download("StarCoder-1B", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.CHECKSUM))
                .hasMessageContaining("expected sha256 " + wrong)
                .hasMessageContaining("got " + sha(gguf))
                .hasMessageContaining("partial file removed");
        Path ggml = models.resolve("TabbyML/StarCoder-1B/ggml");
        assertThat(ggml.resolve("model-00001-of-00001.gguf.part")).doesNotExist();
        assertThat(ggml.resolve("model-00001-of-00001.gguf")).doesNotExist();
        assertThat(models.resolve("TabbyML/StarCoder-1B").resolve(VerifiedMarker.FILE_NAME))
                .doesNotExist();
        assertThat(new ModelCache(models).find(ModelId.parse("StarCoder-1B"))).isEmpty();
    }

    @Test
    void notFoundAndServerErrorMirrorsAreSkipped() throws Exception {
        mirror.serve("/good.gguf", gguf);
        mirror.fault("/flaky.gguf", new FakeMirror.Fault.Status(502), 100);
        registry(entry(
                "StarCoder-1B",
                sha(gguf),
                mirror.url("/missing.gguf"),
                mirror.url("/flaky.gguf"),
                mirror.url("/good.gguf")));

        DownloadResult r = download("StarCoder-1B", Optional.empty(), false);

        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        assertThat(mirror.hitsOn("/missing.gguf")).isEqualTo(1); // 404: no point retrying
        assertThat(mirror.hitsOn("/flaky.gguf")).isEqualTo(2); // 5xx: retried attemptsPerUrl times
        assertThat(mirror.hitsOn("/good.gguf")).isEqualTo(1);
    }

    @Test
    void droppedConnectionResumesWithRangeInTheSameRun() throws Exception {
        mirror.serve("/sc.gguf", gguf).fault("/sc.gguf", new FakeMirror.Fault.DropAfter(100_000), 1);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));

        DownloadResult r = download("StarCoder-1B", Optional.empty(), false);

        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        List<String> ranges = mirror.hits().stream()
                .filter(h -> h.path().equals("/sc.gguf"))
                .map(FakeMirror.Hit::range)
                .toList();
        assertThat(ranges).hasSize(2);
        assertThat(ranges.getFirst()).isNull();
        assertThat(ranges.getLast()).matches("bytes=\\d+-");
        long resumedAt = Long.parseLong(ranges.getLast().replaceAll("\\D", ""));
        assertThat(resumedAt).isPositive().isLessThanOrEqualTo(100_000);
        assertThat(r.bytesFetched()).isEqualTo(gguf.length);
    }

    @Test
    void partialFileFromAnInterruptedRunIsResumedByTheNextRun() throws Exception {
        mirror.serve("/sc.gguf", gguf).fault("/sc.gguf", new FakeMirror.Fault.DropAfter(123_456), 2);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        assertThatThrownBy(() -> download("StarCoder-1B", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.NETWORK))
                .hasMessageContaining("connection");
        Path part = PartFetcher.partialFile(file("StarCoder-1B"));
        // both attempts of the run kept their bytes (a dropped connection may lose a few in flight)
        long kept = Files.size(part);
        assertThat(kept).isGreaterThan(123_456).isLessThanOrEqualTo(2 * 123_456);
        assertThat(new ModelCache(models).find(ModelId.parse("StarCoder-1B"))).isEmpty();

        DownloadResult r = download("StarCoder-1B", Optional.empty(), false);

        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        assertThat(r.bytesFetched()).isEqualTo(gguf.length - kept);
        assertThat(mirror.hits().getLast().range()).isEqualTo("bytes=" + kept + "-");
    }

    @Test
    void serverWithoutRangeSupportRestartsTheFileCleanly() throws Exception {
        mirror.serve("/sc.gguf", gguf).withoutRangeSupport();
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        Path part = PartFetcher.partialFile(file("StarCoder-1B"));
        Files.createDirectories(part.getParent());
        Files.write(part, bytes(50_000, 77)); // stale bytes that must not survive

        DownloadResult r = download("StarCoder-1B", Optional.empty(), false);

        assertThat(mirror.hits().getLast().range()).isEqualTo("bytes=50000-");
        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        assertThat(r.bytesFetched()).isEqualTo(gguf.length);
    }

    @Test
    void completePartialFileIsVerifiedAfterA416() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        Path part = PartFetcher.partialFile(file("StarCoder-1B"));
        Files.createDirectories(part.getParent());
        Files.write(part, gguf); // the earlier run received every byte but died before verifying

        DownloadResult r = download("StarCoder-1B", Optional.empty(), false);

        assertThat(r.bytesFetched()).isZero();
        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
    }

    @Test
    void stalledTransferIsAbandonedAndResumed() throws Exception {
        mirror.serve("/sc.gguf", gguf).fault("/sc.gguf", new FakeMirror.Fault.StallAfter(64 * 1024, 5_000), 1);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        DownloadSettings s =
                settings(Map.of()).withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(400), Duration.ofSeconds(10));
        DownloadResult r;
        try (var d = new Downloader(models, s)) {
            r = d.download(new DownloadRequest(
                    ModelId.parse("StarCoder-1B"), Optional.of(mirror.url("/models.json")), false, Optional.empty()));
        }
        assertThat(Files.readAllBytes(r.model().entryFile())).isEqualTo(gguf);
        assertThat(mirror.hits().getLast().range()).startsWith("bytes=");
    }

    @Test
    void unwritableModelsDirIsAClearErrorAndNothingIsMarkedComplete() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        Path blocker = models.resolve("not-a-dir");
        Files.writeString(blocker, "a file where the models dir should be");
        // the tests run as root in CI, where permission bits do not stop writes; a file in the way always does
        try (var d = new Downloader(blocker, settings(Map.of()))) {
            assertThatThrownBy(() -> d.download(new DownloadRequest(
                            ModelId.parse("StarCoder-1B"),
                            Optional.of(mirror.url("/models.json")),
                            false,
                            Optional.empty())))
                    .isInstanceOfSatisfying(
                            DownloadException.class,
                            e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.LOCAL_IO))
                    .hasMessageContaining("cannot create model directory")
                    .hasMessageContaining("not-a-dir");
        }
        Path ggml = models.resolve("TabbyML/StarCoder-1B/ggml");
        Files.createDirectories(ggml.getParent());
        Files.writeString(ggml, "a file where ggml/ should be");
        assertThatThrownBy(() -> download("StarCoder-1B", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.LOCAL_IO))
                .hasMessageContaining("cannot write model directory");
        assertThat(models.resolve("TabbyML/StarCoder-1B").resolve(VerifiedMarker.FILE_NAME))
                .doesNotExist();
        assertThat(mirror.hitsOn("/sc.gguf")).isZero();
    }

    @Test
    void writeFailureMidDownloadIsALocalErrorAndNothingIsMarkedComplete() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf"), mirror.url("/sc.gguf?mirror2")));
        Path part = PartFetcher.partialFile(file("StarCoder-1B"));
        Files.createDirectories(part); // the part file cannot be opened for writing, like a full or read-only disk

        assertThatThrownBy(() -> download("StarCoder-1B", Optional.empty(), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.LOCAL_IO))
                .hasMessageStartingWith("cannot write " + part);
        assertThat(mirror.hitsOn("/sc.gguf")).isEqualTo(1); // a local failure is not retried against other mirrors
        assertThat(file("StarCoder-1B")).doesNotExist();
        assertThat(models.resolve("TabbyML/StarCoder-1B").resolve(VerifiedMarker.FILE_NAME))
                .doesNotExist();
    }

    @Test
    void registryFromAFileAndAPresentModelWithoutHashes() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        Path registryFile = models.resolve("my-registry.json");
        Files.writeString(registryFile, json(List.of(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")))));
        try (var d = new Downloader(models, settings(Map.of()))) {
            var r = d.download(new DownloadRequest(
                    ModelId.parse("StarCoder-1B"),
                    Optional.of(registryFile.toUri().toString()),
                    false,
                    Optional.empty()));
            assertThat(r.outcome()).isEqualTo(DownloadResult.Outcome.DOWNLOADED);
            assertThatThrownBy(() -> d.download(new DownloadRequest(
                            ModelId.parse("X"),
                            Optional.of(models.resolve("none.json").toString()),
                            false,
                            Optional.empty())))
                    .hasMessageContaining("does not exist");
            Files.writeString(registryFile, "{\"not\": \"a list\"}");
            assertThatThrownBy(() -> d.download(new DownloadRequest(
                            ModelId.parse("X"), Optional.of(registryFile.toString()), false, Optional.empty())))
                    .hasMessageContaining("is not a Tabby models.json");
        }
        assertThat(models.resolve("TabbyML/models.json")).doesNotExist(); // a registry file is used as is, not cached

        Path handMade = models.resolve("Me/Local");
        Files.createDirectories(handMade.resolve("ggml"));
        Files.write(handMade.resolve("ggml/model.gguf"), gguf);
        Files.writeString(handMade.resolve("tabby.json"), "{\"name\":\"Local\",\"chat_template\":\"t\"}");
        mirror.close();
        var r = download("Me/Local", Optional.of(ModelKind.CHAT), false);
        assertThat(r.outcome()).isEqualTo(DownloadResult.Outcome.PRESENT_UNVERIFIABLE);
        assertThat(r.model().entryFile()).isEqualTo(handMade.resolve("ggml/model.gguf"));
    }

    @Test
    void modelUsedInTheWrongRoleIsRejectedBeforeDownloading() throws Exception {
        mirror.serve("/e.gguf", gguf);
        registry(Map.of("name", "Nomic-Embed-Text", "urls", List.of(mirror.url("/e.gguf")), "sha256", sha(gguf)));

        assertThatThrownBy(() -> download("Nomic-Embed-Text", Optional.of(ModelKind.COMPLETION), false))
                .isInstanceOfSatisfying(
                        DownloadException.class, e -> assertThat(e.kind()).isEqualTo(DownloadException.Kind.BAD_INPUT))
                .hasMessage("model TabbyML/Nomic-Embed-Text cannot be used for completion: it has no prompt_template");
        assertThatThrownBy(() -> download("Nomic-Embed-Text", Optional.of(ModelKind.CHAT), false))
                .hasMessageContaining("cannot be used for chat");
        assertThat(mirror.hitsOn("/e.gguf")).isZero();

        download("Nomic-Embed-Text", Optional.of(ModelKind.EMBEDDING), false);
        // present and verified, but still the wrong role
        assertThatThrownBy(() -> download("Nomic-Embed-Text", Optional.of(ModelKind.CHAT), false))
                .hasMessageContaining("no chat_template");
    }

    @Test
    void concurrentDownloadsOfOneModelDoNotCorruptIt() throws Exception {
        mirror.serve("/sc.gguf", gguf).slow(5);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        Callable<DownloadResult> task = () -> download("StarCoder-1B", Optional.empty(), false);
        List<DownloadResult> results = new ArrayList<>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<DownloadResult>> fs = List.of(pool.submit(task), pool.submit(task), pool.submit(task));
            for (Future<DownloadResult> f : fs) results.add(f.get());
        }
        assertThat(results).extracting(DownloadResult::outcome).containsOnlyOnce(DownloadResult.Outcome.DOWNLOADED);
        assertThat(mirror.hitsOn("/sc.gguf")).isEqualTo(1);
        assertThat(Files.readAllBytes(file("StarCoder-1B"))).isEqualTo(gguf);
    }

    @Test
    void aDownloadInAnotherProcessWaitsForTheLock() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        Path dir = models.resolve("TabbyML/StarCoder-1B");
        Files.createDirectories(dir);
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        try (var channel = java.nio.channels.FileChannel.open(
                dir.resolve(Downloader.LOCK_FILE),
                java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE)) {
            var lock = channel.lock(); // as a running download of this model in this JVM holds it
            Process child = new ProcessBuilder(
                            javaBin,
                            "-XX:TieredStopAtLevel=1",
                            "-cp",
                            System.getProperty("java.class.path"),
                            DownloadInChildProcess.class.getName(),
                            models.toString(),
                            mirror.url("/models.json"),
                            "StarCoder-1B")
                    .redirectErrorStream(true)
                    .start();
            var lines = new java.io.BufferedReader(
                    new java.io.InputStreamReader(child.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            StringBuilder output = new StringBuilder();
            String line;
            while ((line = lines.readLine()) != null && !line.contains("waiting for it"))
                output.append(line).append('\n');
            assertThat(line).as(output.toString()).contains("another download of TabbyML/StarCoder-1B is running");
            assertThat(mirror.hitsOn("/sc.gguf")).isZero();
            lock.release();
            while ((line = lines.readLine()) != null) output.append(line).append('\n');
            assertThat(child.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(child.exitValue()).as(output.toString()).isZero();
            assertThat(output.toString()).contains("OUTCOME DOWNLOADED");
        }
        assertThat(mirror.hitsOn("/sc.gguf")).isEqualTo(1);
        assertThat(Files.readAllBytes(file("StarCoder-1B"))).isEqualTo(gguf);
    }

    @Test
    void forceDownloadsAgain() throws Exception {
        mirror.serve("/sc.gguf", gguf);
        registry(entry("StarCoder-1B", sha(gguf), mirror.url("/sc.gguf")));
        download("StarCoder-1B", Optional.empty(), false);
        DownloadResult r = download("StarCoder-1B", Optional.empty(), true);
        assertThat(r.outcome()).isEqualTo(DownloadResult.Outcome.DOWNLOADED);
        assertThat(mirror.hitsOn("/sc.gguf")).isEqualTo(2);
        assertThat(new ModelCache(models).isVerified(r.model())).isTrue();
    }

    @Test
    void downloadHostSelectsMirrorsAndHuggingFaceOverrideRewritesThem() throws Exception {
        mirror.serve("/TabbyML/models/resolve/main/sc.gguf", gguf);
        registry(entry(
                "StarCoder-1B",
                sha(gguf),
                "https://huggingface.co/TabbyML/models/resolve/main/sc.gguf",
                "https://modelscope.cn/sc.gguf"));

        assertThatThrownBy(() ->
                        download("StarCoder-1B", Optional.empty(), false, Map.of("TABBY_DOWNLOAD_HOST", "example.org")))
                .hasMessageContaining("TABBY_DOWNLOAD_HOST=example.org");

        // modelscope.cn is not reachable from the tests: with the host unset it is only the second mirror
        var d = new Downloader(
                models, settings(Map.of("TABBY_HUGGINGFACE_HOST_OVERRIDE", "127.0.0.1:" + mirror.port())));
        ModelInfo.PartSpec spec =
                new ModelInfo.PartSpec(1, 1, List.of("https://modelscope.cn/a", "https://huggingface.co/b"), "");
        assertThat(d.mirrors(ModelId.parse("X"), spec))
                .containsExactly("https://127.0.0.1:" + mirror.port() + "/b", "https://modelscope.cn/a");
        d.close();
        var onlyScope = new Downloader(models, settings(Map.of("TABBY_DOWNLOAD_HOST", "modelscope.cn")));
        assertThat(onlyScope.mirrors(ModelId.parse("X"), spec)).containsExactly("https://modelscope.cn/a");
        onlyScope.close();
    }
}
