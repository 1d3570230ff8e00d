package dev.catnap.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What Jib is told to build, checked against the rest of the build: the JVM flags, the jar, the models. */
class ImageDefinitionTest {
    static final Path BUILD = Path.of("/build/catnap-cli/target");

    @Test
    void entrypointRunsCatnapServeOnAllInterfacesWithTheEnginesJvmFlags() throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), BUILD);
        List<String> e = image.entrypoint();
        assertThat(e.getFirst()).isEqualTo("java");
        List<String> jvmFlags =
                Arrays.asList(image.properties().get("catnap.jvmFlags").split("\\s+"));
        assertThat(e).containsSubsequence(jvmFlags);
        // the shaded jar and its AOT cache, from their own layer
        assertThat(Manifests.optionValue(e, "-jar")).isEqualTo("/app/catnap/catnap.jar");
        assertThat(e).contains("-XX:AOTCache=/app/catnap/catnap.aot");
        int jar = e.indexOf("-jar");
        assertThat(e.subList(jar + 2, e.size())).containsExactly("serve", "--host", "0.0.0.0", "--offline");
        assertThat(e).as("the port comes from $PORT").doesNotContain("--port");
        assertThat(image.environment())
                .containsEntry("PORT", String.valueOf(image.ports().getFirst()));
    }

    @Test
    void baseImageIsTheJavaTheProjectCompilesFor() throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), BUILD);
        String release = image.properties().get("maven.compiler.release");
        assertThat(image.baseImage()).startsWith("eclipse-temurin:" + release + "-");
    }

    @Test
    void everyModelServedIsDownloadedAtBuildTimeIntoTheLayerTheServerReads() throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), BUILD);
        List<ImageDefinition.ExtraDirectory> modelLayers = image.extraDirectories().stream()
                .filter(d -> d.into().equals(image.environment().get("TABBY_MODEL_CACHE_ROOT")))
                .toList();
        assertThat(modelLayers)
                .singleElement()
                .satisfies(d -> assertThat(d.from()).startsWithRaw(BUILD));
        Path cache = modelLayers.getFirst().from();

        Map<String, String> roles =
                Map.of("--model", "completion", "--chat-model", "chat", "--embedding-model", "embedding");
        Map<String, String> served = new LinkedHashMap<>();
        for (int i = 0; i < image.args().size(); i += 2)
            served.put(image.args().get(i + 1), roles.get(image.args().get(i)));
        assertThat(served).doesNotContainValue(null).hasSize(3);

        Map<String, String> downloaded = new LinkedHashMap<>();
        for (List<String> step : downloadSteps(image)) {
            assertThat(step.getFirst()).endsWith("/bin/java");
            assertThat(step)
                    .containsSubsequence(Arrays.asList(
                            image.properties().get("catnap.jvmFlags").split("\\s+")));
            assertThat(Manifests.optionValue(step, "-jar")).isEqualTo(image.shadedJar());
            assertThat(step.get(step.indexOf("-jar") + 2)).isEqualTo("download");
            assertThat(Path.of(Manifests.optionValue(step, "--models-dir"))).isEqualTo(cache);
            downloaded.put(Manifests.optionValue(step, "--model"), Manifests.optionValue(step, "--kind"));
        }
        assertThat(downloaded).isEqualTo(served);
    }

    static List<List<String>> downloadSteps(ImageDefinition image) {
        return image.buildSteps().stream().filter(s -> s.contains("download")).toList();
    }

    @Test
    void theAotCacheIsTrainedOnTheJarTheImageRunsWithTheSameJvmFlags(@TempDir Path tmp) throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), BUILD);
        ImageDefinition.ExtraDirectory app = image.extraDirectories().stream()
                .filter(d -> d.into().equals("/app/catnap"))
                .findFirst()
                .orElseThrow();
        List<List<String>> others =
                image.buildSteps().stream().filter(s -> !s.contains("download")).toList();
        assertThat(others).hasSize(2);
        List<String> copy = others.get(0);
        // the copy gets the modification time Jib gives every file, which the JVM checks against the cache
        assertThat(copy).startsWith("sh", "-c").hasSize(5);
        assertThat(copy.subList(3, 5)).containsExactly(app.from().toString(), image.shadedJar());
        Path jar = Files.writeString(tmp.resolve("catnap.jar"), "a jar");
        Process p = new ProcessBuilder(
                        copy.get(0),
                        copy.get(1),
                        copy.get(2),
                        tmp.resolve("app").toString(),
                        jar.toString())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue())
                .as(new String(p.getInputStream().readAllBytes()))
                .isZero();
        assertThat(Files.readString(tmp.resolve("app/catnap.jar"))).isEqualTo("a jar");
        assertThat(Files.getLastModifiedTime(tmp.resolve("app/catnap.jar")).toMillis())
                .isEqualTo(1000); // Jib's EPOCH_PLUS_SECOND

        List<String> train = others.get(1);
        assertThat(train.getFirst()).endsWith("/bin/java");
        assertThat(Manifests.optionValue(train, "-jar"))
                .isEqualTo(app.from().resolve("catnap.jar").toString());
        assertThat(train.getLast()).isEqualTo("aot-train");
        assertThat(train).contains("-XX:AOTCacheOutput=" + app.from().resolve("catnap.aot"));

        // the JVM flags that must match between training and run: all but the heap size and the cache option
        List<String> run = image.entrypoint().subList(1, image.entrypoint().indexOf("-jar")).stream()
                .filter(a -> !a.startsWith("-XX:MaxRAMPercentage") && !a.startsWith("-XX:AOTCache"))
                .toList();
        List<String> trained = train.subList(1, train.indexOf("-jar")).stream()
                .filter(a -> !a.startsWith("-XX:AOTCacheOutput"))
                .toList();
        assertThat(trained).isEqualTo(run);
    }
}
