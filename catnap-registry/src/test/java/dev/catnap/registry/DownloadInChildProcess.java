package dev.catnap.registry;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** Entry point for a second JVM in the cross-process lock test: args are models dir, registry URL, model id. */
final class DownloadInChildProcess {
    private DownloadInChildProcess() {}

    public static void main(String[] args) throws Exception {
        var settings = DownloadSettings.defaults(Map.of(), false)
                .withRetries(1, Duration.ofMillis(10), Duration.ofMillis(10))
                .withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20));
        try (var d = new Downloader(Path.of(args[0]), settings)) {
            DownloadResult r = d.download(
                    new DownloadRequest(ModelId.parse(args[2]), Optional.of(args[1]), false, Optional.empty()));
            System.out.println("OUTCOME " + r.outcome());
        }
    }
}
