package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HealthInfoTest {
    private final ObjectMapper json = new ObjectMapper();

    private JsonNode health(String device, List<String> gpus) throws Exception {
        var options = new ServerOptions(
                "127.0.0.1",
                0,
                1,
                4,
                Optional.empty(),
                Path.of("events"),
                Duration.ofSeconds(30),
                device,
                "0.1.0-test",
                gpus);
        return json.readTree(HealthInfo.json(
                json,
                options,
                Optional.of("TabbyML/StarCoder-1B"),
                Optional.of("TabbyML/Qwen2-1.5B-Instruct"),
                Optional.of("TabbyML/Nomic-Embed-Text")));
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void cudaListsTheGpuNamesAsTabbyDoes() throws Exception {
        var gpus = List.of("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3");
        JsonNode h = health("cuda", gpus);
        assertThat(h.path("device").asText()).isEqualTo("cuda");
        assertThat(h.path("chat_device").asText()).isEqualTo("cuda");
        assertThat(texts(h.path("cuda_devices"))).isEqualTo(gpus);
        for (String role : List.of("completion", "chat")) {
            JsonNode local = h.path("models").path(role).path("local");
            assertThat(local.path("device").asText()).as(role).isEqualTo("cuda");
            assertThat(texts(local.path("cuda_devices"))).as(role).isEqualTo(gpus);
        }
        JsonNode embedding = h.path("models").path("embedding").path("local");
        assertThat(embedding.path("device").asText())
                .as("embeddings run on the CPU engine")
                .isEqualTo("cpu");
        assertThat(embedding.path("cuda_devices")).isEmpty();
    }

    @Test
    void cpuHasAnEmptyDeviceList() throws Exception {
        JsonNode h = health("cpu", List.of());
        assertThat(h.path("device").asText()).isEqualTo("cpu");
        assertThat(h.path("cuda_devices").isArray()).isTrue();
        assertThat(h.path("cuda_devices")).isEmpty();
        assertThat(h.path("models").path("completion").path("local").path("cuda_devices"))
                .isEmpty();
    }

    @Test
    void theShorterConstructorMeansNoGpus() {
        var options = new ServerOptions(
                "127.0.0.1", 0, 1, 4, Optional.empty(), Path.of("events"), Duration.ofSeconds(30), "cpu", "0.1.0-test");
        assertThat(options.cudaDevices()).isEmpty();
    }
}
