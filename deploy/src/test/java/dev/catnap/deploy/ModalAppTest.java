package dev.catnap.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.catnap.gateway.GatewayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/modal/app.py compiles, and runs the image's entrypoint with the seed's (and the gateway's) settings. */
class ModalAppTest {
    static boolean python;

    @TempDir
    Path tmp;

    record Run(int exit, String output) {}

    @BeforeAll
    static void findPython() {
        try {
            python = new ProcessBuilder("python3", "--version")
                    .redirectErrorStream(true)
                    .start()
                    .waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            python = false;
        }
    }

    Run python(String... args) throws Exception {
        assumeTrue(python, "python3 is not installed: deploy/modal/app.py is not checked here (CI has python3)");
        List<String> cmd = new ArrayList<>(List.of("python3"));
        cmd.addAll(List.of(args));
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PYTHONPYCACHEPREFIX", tmp.resolve("pycache").toString()); // no __pycache__ in the tree
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static Path app() {
        return Manifests.deployDir().resolve("modal/app.py");
    }

    @Test
    void compiles() throws Exception {
        Run r = python("-m", "py_compile", app().toString());
        assertThat(r.exit()).as(r.output()).isZero();
        Path broken = Files.writeString(tmp.resolve("broken.py"), "@app.function(\ndef serve(:\n");
        assertThat(python("-m", "py_compile", broken.toString()).exit())
                .as("the check can fail")
                .isNotZero();
    }

    @Test
    void usesTheSeedsSettingsAndTheImagesEntrypoint() throws Exception {
        Path helper =
                Path.of(ModalAppTest.class.getResource("/modal_settings.py").toURI());
        Run r = python(helper.toString(), app().toString());
        assertThat(r.exit()).as(r.output()).isZero();
        JsonNode settings = new ObjectMapper().readTree(r.output());
        JsonNode serve = settings.path("functions").path("serve");
        JsonNode constants = settings.path("constants");

        assertThat(serve.path("modal.concurrent").path("max_inputs").asInt())
                .isEqualTo(GatewayConfig.DEFAULT_MAX_INPUTS);
        assertThat(serve.path("app.function").path("scaledown_window").asLong())
                .isEqualTo(GatewayConfig.DEFAULT_SCALEDOWN_WINDOW.toSeconds());
        assertThat(serve.path("app.function").path("timeout").asLong()).isEqualTo(ManifestsTest.SEED_TIMEOUT_SECONDS);
        assertThat(serve.path("app.function").path("gpu").asText()).isNotEmpty();
        assertThat(strings(constants.path("DEVICE")))
                .as("the GPU is used, not only reserved")
                .containsExactly("--device", "cuda");
        assertThat(serve.path("modal.web_server").path("port").asInt())
                .isEqualTo(constants.path("PORT").asInt())
                .isPositive();
        assertThat(serve.path("modal.web_server").path("startup_timeout").asLong())
                .isEqualTo(GatewayConfig.DEFAULT_STARTUP_TIMEOUT.toSeconds());

        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), Path.of("/build"));
        assertThat(strings(constants.path("CATNAP_SERVE"))).isEqualTo(image.entrypoint());
        assertThat(strings(constants.path("MODELS"))).isEqualTo(image.args());
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
