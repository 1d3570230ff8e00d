package dev.catnap.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What Jib is told to build, checked against the rest of the build: the JVM flags, the jar, the models. */
class ImageDefinitionTest {
    static final Path BUILD = Path.of("/build/catnap-cli/target");

    @Test
    void entrypointRunsCatnapServeOnAllInterfacesWithTheEnginesJvmFlags() throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), BUILD);
        List<String> e = image.entrypoint();
        assertThat(e.getFirst()).isEqualTo("java");
        List<String> jvmFlags = Arrays.asList(image.properties().get("catnap.jvmFlags").split("\\s+"));
        assertThat(e).containsSubsequence(jvmFlags);
        // Jib's layout under its app root: resources, classes, then every dependency jar (the Catnap modules included).
        assertThat(Manifests.optionValue(e, "-cp")).isEqualTo("/app/resources:/app/classes:/app/libs/*");
        int main = e.indexOf(image.jarMainClass());
        assertThat(main).as("main class of the runnable jar").isGreaterThan(e.indexOf("-cp"));
        assertThat(e.subList(main + 1, e.size())).containsExactly("serve", "--host", "0.0.0.0");
        assertThat(e).as("the port comes from $PORT").doesNotContain("--port");
        assertThat(image.environment()).containsEntry("PORT", String.valueOf(image.ports().getFirst()));
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
        assertThat(image.extraDirectories()).singleElement().satisfies(d -> {
            assertThat(d.into()).isEqualTo(image.environment().get("TABBY_MODEL_CACHE_ROOT"));
            assertThat(d.from()).startsWithRaw(BUILD);
        });
        Path cache = image.extraDirectories().getFirst().from();

        Map<String, String> roles = Map.of("--model", "completion", "--chat-model", "chat", "--embedding-model", "embedding");
        Map<String, String> served = new LinkedHashMap<>();
        for (int i = 0; i < image.args().size(); i += 2) served.put(image.args().get(i + 1), roles.get(image.args().get(i)));
        assertThat(served).doesNotContainValue(null).hasSize(3);

        Map<String, String> downloaded = new LinkedHashMap<>();
        for (List<String> step : image.buildSteps()) {
            assertThat(step.getFirst()).endsWith("/bin/java");
            assertThat(step).containsSubsequence(Arrays.asList(image.properties().get("catnap.jvmFlags").split("\\s+")));
            assertThat(Manifests.optionValue(step, "-jar")).isEqualTo(image.shadedJar());
            assertThat(step.get(step.indexOf("-jar") + 2)).isEqualTo("download");
            assertThat(Path.of(Manifests.optionValue(step, "--models-dir"))).isEqualTo(cache);
            downloaded.put(Manifests.optionValue(step, "--model"), Manifests.optionValue(step, "--kind"));
        }
        assertThat(downloaded).isEqualTo(served);
    }
}
