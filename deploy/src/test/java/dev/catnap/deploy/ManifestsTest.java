package dev.catnap.deploy;

import static dev.catnap.deploy.Manifests.container;
import static dev.catnap.deploy.Manifests.goDuration;
import static dev.catnap.deploy.Manifests.optionValue;
import static dev.catnap.deploy.Manifests.revisionAnnotations;
import static dev.catnap.deploy.Manifests.service;
import static dev.catnap.deploy.Manifests.without;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.catnap.gateway.GatewayConfig;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The manifests parse as Knative Services, and say what the gateway's defaults and the image say. */
class ManifestsTest {
    /** The seed's Modal `timeout=360`: one request (and, on Modal, model loading) gets this long. */
    static final long SEED_TIMEOUT_SECONDS = 360;

    static final String TOKEN_SECRET = "catnap-token";

    static final GatewayConfig GATEWAY = GatewayConfig.defaults(List.of("worker", "{port}"), Path.of("unused"));

    static ImageDefinition image() throws Exception {
        return ImageDefinition.read(ImageDefinition.repositoryRoot(), Path.of("/build"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative/service.yaml", "knative/service-cpu.yaml", "cloudrun/service.yaml"})
    void parsesAsATypedKnativeServiceWithNoUnknownField(String file) throws Exception {
        Service s = service(file);
        assertThat(s.getApiVersion()).isEqualTo("serving.knative.dev/v1");
        assertThat(s.getKind()).isEqualTo("Service");
        assertThat(s.getMetadata().getName()).startsWith("catnap");
        assertThat(Manifests.unknownFields(s))
                .as("fields fabric8's Knative model does not know")
                .isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative/service.yaml", "knative/service-cpu.yaml"})
    void knativeServicesCarryTheGatewaysServerlessSettings(String file) throws Exception {
        Service s = service(file);
        var spec = s.getSpec().getTemplate().getSpec();
        Map<String, String> a = revisionAnnotations(s);

        assertThat(spec.getContainerConcurrency()).isEqualTo((long) GatewayConfig.DEFAULT_MAX_INPUTS);
        assertThat(a.get("autoscaling.knative.dev/class")).isEqualTo("kpa.autoscaling.knative.dev");
        assertThat(Integer.parseInt(a.get("autoscaling.knative.dev/min-scale")))
                .isEqualTo(GATEWAY.minWorkers())
                .isZero();
        assertThat(Integer.parseInt(a.get("autoscaling.knative.dev/max-scale"))).isGreaterThanOrEqualTo(1);
        assertThat(goDuration(a.get("autoscaling.knative.dev/scale-to-zero-pod-retention-period")))
                .isEqualTo(GatewayConfig.DEFAULT_SCALEDOWN_WINDOW);
        assertThat(goDuration(a.get("serving.knative.dev/progress-deadline")))
                .isEqualTo(GatewayConfig.DEFAULT_STARTUP_TIMEOUT);
        assertThat(spec.getTimeoutSeconds())
                .isEqualTo(SEED_TIMEOUT_SECONDS)
                .isLessThanOrEqualTo(600); // Knative's max-revision-timeout default

        Container c = container(s);
        int port = c.getPorts().getFirst().getContainerPort();
        assertThat(c.getPorts())
                .singleElement()
                .satisfies(p -> assertThat(p.getName()).isEqualTo("http1"));
        assertThat(c.getReadinessProbe().getHttpGet())
                .as("an HTTP probe would need the token")
                .isNull();
        assertThat(c.getReadinessProbe().getTcpSocket().getPort().getIntVal()).isEqualTo(port);
        assertTokenFromSecret(s, c);
    }

    @Test
    void onlyTheGpuVariantsAskForAGpu() throws Exception {
        assertThat(gpus(container(service("knative/service.yaml")))).isEqualTo("1");
        assertThat(gpus(container(service("cloudrun/service.yaml")))).isEqualTo("1");
        assertThat(gpus(container(service("knative/service-cpu.yaml")))).isNull();
        assertThat(service("cloudrun/service.yaml")
                        .getSpec()
                        .getTemplate()
                        .getSpec()
                        .getNodeSelector())
                .containsEntry("run.googleapis.com/accelerator", "nvidia-l4");
    }

    @Test
    void theGpuVariantsRunTheLanguageModelsOnTheGpu() throws Exception {
        assertThat(optionValue(container(service("knative/service.yaml")).getArgs(), "--device"))
                .isEqualTo("cuda");
        assertThat(optionValue(container(service("cloudrun/service.yaml")).getArgs(), "--device"))
                .isEqualTo("cuda");
        assertThat(container(service("knative/service-cpu.yaml")).getArgs()).doesNotContain("--device", "cuda");
        assertThat(image().environment().get("NVIDIA_DRIVER_CAPABILITIES"))
                .as("libcuda.so.1 is mounted for compute")
                .contains("compute");
    }

    private static String gpus(Container c) {
        Quantity q = c.getResources().getLimits().get("nvidia.com/gpu");
        assertThat(
                        c.getResources().getRequests() == null
                                ? Map.of()
                                : c.getResources().getRequests())
                .doesNotContainKey("nvidia.com/gpu");
        return q == null ? null : q.getAmount();
    }

    @Test
    void cloudRunCarriesTheSameSettingsInItsDialect() throws Exception {
        Service s = service("cloudrun/service.yaml");
        var spec = s.getSpec().getTemplate().getSpec();
        Map<String, String> a = revisionAnnotations(s);
        assertThat(spec.getContainerConcurrency()).isEqualTo((long) GatewayConfig.DEFAULT_MAX_INPUTS);
        assertThat(Integer.parseInt(a.get("autoscaling.knative.dev/minScale"))).isEqualTo(GATEWAY.minWorkers());
        assertThat(Integer.parseInt(a.get("autoscaling.knative.dev/maxScale"))).isGreaterThanOrEqualTo(1);
        assertThat(a).containsEntry("run.googleapis.com/cpu-throttling", "false"); // required with a GPU
        assertThat(spec.getTimeoutSeconds()).isEqualTo(SEED_TIMEOUT_SECONDS);

        Container c = container(s);
        int port = c.getPorts().getFirst().getContainerPort();
        var probe = c.getStartupProbe();
        assertThat(probe.getTcpSocket().getPort().getIntVal()).isEqualTo(port);
        assertThat(Duration.ofSeconds((long) probe.getPeriodSeconds() * probe.getFailureThreshold()))
                .isEqualTo(GatewayConfig.DEFAULT_STARTUP_TIMEOUT);
        assertThat(c.getResources().getLimits().get("memory"))
                .isEqualTo(new Quantity("16Gi")); // Cloud Run's GPU minimum
        assertTokenFromSecret(s, c);
    }

    @ParameterizedTest
    @ValueSource(strings = {"knative/service.yaml", "knative/service-cpu.yaml", "cloudrun/service.yaml"})
    void servesTheModelsBakedIntoTheImageOnTheImagesPort(String file) throws Exception {
        ImageDefinition image = image();
        Container c = container(service(file));
        assertThat(c.getCommand()).as("the image's entrypoint is kept").isNullOrEmpty();
        assertThat(without(without(c.getArgs(), "--token-file"), "--device"))
                .as("a model the image lacks would fail every cold start")
                .isEqualTo(image.args());
        assertThat(c.getPorts().getFirst().getContainerPort())
                .isIn(image.ports())
                .isEqualTo(Integer.parseInt(image.environment().get("PORT")));
        assertThat(c.getImage()).endsWith("/catnap:" + image.properties().get("project.version"));
    }

    private static void assertTokenFromSecret(Service s, Container c) {
        Path tokenFile = Path.of(optionValue(c.getArgs(), "--token-file"));
        VolumeMount mount = c.getVolumeMounts().stream()
                .filter(m -> tokenFile.startsWith(m.getMountPath()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("--token-file " + tokenFile + " is on no volume mount"));
        var volume = s.getSpec().getTemplate().getSpec().getVolumes().stream()
                .filter(v -> v.getName().equals(mount.getName()))
                .findFirst()
                .orElseThrow();
        assertThat(volume.getSecret().getSecretName()).isEqualTo(TOKEN_SECRET);
        if (volume.getSecret().getItems() != null
                && !volume.getSecret().getItems().isEmpty()) {
            assertThat(volume.getSecret().getItems())
                    .anySatisfy(i -> assertThat(Path.of(mount.getMountPath(), i.getPath()))
                            .isEqualTo(tokenFile));
        }
    }

    @Test
    void theCheckerSeesTyposAndWrongTypes() throws Exception {
        String typo = """
                apiVersion: serving.knative.dev/v1
                kind: Service
                metadata: {name: x}
                spec:
                  template:
                    spec:
                      containerConcurency: 10
                      containers: [{image: x, readinesProbe: {tcpSocket: {port: 8080}}}]
                """;
        Service s = Manifests.YAML.readValue(typo, Service.class);
        assertThat(Manifests.unknownFields(s))
                .containsExactlyInAnyOrder(
                        ".spec.template.spec.containerConcurency", ".spec.template.spec.containers[0].readinesProbe");
        assertThatThrownBy(() -> Manifests.YAML.readValue(
                        "spec: {template: {spec: {containerConcurrency: ten}}}", Service.class))
                .isInstanceOf(MismatchedInputException.class);
        assertThat(goDuration("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThatThrownBy(() -> goDuration("2 m")).isInstanceOf(IllegalArgumentException.class);
    }
}
