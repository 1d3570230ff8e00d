package dev.catnap.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.catnap.registry.ModelId;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Volume;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image as far as it runs without a container runtime or registry: its build steps (`catnap download` for the
 * configured models, here from a registry on loopback) fill a models directory laid out as the image lays it out,
 * then its exact entrypoint, environment and the Knative manifest's arguments and Secret run as a local process,
 * probed for readiness by TCP as Knative does, and asked for a completion.
 *
 * <p>What stands in for the image: the host's JDK for the base image's {@code java}, this build's class path for
 * Jib's {@code /app} class path, a temporary directory for the image's file system root (every absolute path in the
 * environment and arguments is taken relative to it), and a free loopback port for the {@code PORT} the platform
 * gives; the entrypoint's {@code --host 0.0.0.0} becomes 127.0.0.1 because tests listen on loopback only.
 */
@Timeout(180)
class ImageProcessTest {
    static final String KNATIVE = "knative/service-cpu.yaml";

    @TempDir
    Path tmp;

    HttpServer registry;
    Process serve;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();

    @AfterEach
    void stop() throws InterruptedException {
        if (serve != null) {
            serve.destroy();
            if (!serve.waitFor(15, TimeUnit.SECONDS)) serve.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        if (registry != null) registry.stop(0);
    }

    @Test
    void theImagesEntrypointServesCompletionsFromTheModelsBakedAtBuildTime() throws Exception {
        Path build = tmp.resolve("build");
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), build);
        String registryUrl = startRegistry(image);

        // Build time: the exec steps, with this build's class path in place of the shaded jar.
        List<Process> downloads = new ArrayList<>();
        // (the AOT cache steps are left out: the JVM runs the same without a cache, and ImageDefinitionTest checks
        // them)
        for (List<String> step : ImageDefinitionTest.downloadSteps(image)) {
            List<String> cmd = new ArrayList<>();
            cmd.add(javaBinary());
            for (int i = 1; i < step.size(); i++) {
                if (step.get(i).equals("-jar")) {
                    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), image.jarMainClass()));
                    i++;
                } else {
                    cmd.add(step.get(i));
                }
            }
            cmd.addAll(List.of("--registry", registryUrl));
            downloads.add(start(cmd, Map.of(), tmp.resolve("download-" + downloads.size() + ".log")));
        }
        for (int i = 0; i < downloads.size(); i++) {
            Process p = downloads.get(i);
            assertThat(p.waitFor(90, TimeUnit.SECONDS))
                    .as("download %d finished", i)
                    .isTrue();
            assertThat(p.exitValue())
                    .as(Files.readString(tmp.resolve("download-" + i + ".log")))
                    .isZero();
        }

        // The image's file system: Jib's extra directory (its own layer) and the Secret Knative mounts.
        Path rootfs = tmp.resolve("rootfs");
        for (ImageDefinition.ExtraDirectory d : image.extraDirectories()) {
            if (Files.isDirectory(d.from()))
                copyTree(d.from(), under(rootfs, d.into())); // the models; the jar layer is not built here
        }
        Container knative = Manifests.container(Manifests.service(KNATIVE));
        String token = UUID.randomUUID().toString();
        List<Volume> volumes =
                Manifests.service(KNATIVE).getSpec().getTemplate().getSpec().getVolumes();
        for (var mount : knative.getVolumeMounts()) {
            Volume v = volumes.stream()
                    .filter(x -> x.getName().equals(mount.getName()))
                    .findFirst()
                    .orElseThrow();
            if (v.getSecret() != null && v.getSecret().getSecretName().equals(ManifestsTest.TOKEN_SECRET)) {
                Files.createDirectories(under(rootfs, mount.getMountPath()));
                Files.writeString(
                        under(rootfs, mount.getMountPath()).resolve("token"), token + "\n"); // key `token`, see README
            }
        }

        // Run time: ENTRYPOINT + the manifest's args, the image's environment plus the PORT Knative injects.
        int port = freePort();
        List<String> argv = entrypoint(image);
        for (String a : knative.getArgs())
            argv.add(a.startsWith("/") ? under(rootfs, a).toString() : a);
        Map<String, String> env = environment(image, rootfs);
        env.put("PORT", String.valueOf(port));
        Path log = tmp.resolve("serve.log");
        serve = start(argv, env, log);

        awaitTcpReadiness(port, Duration.ofSeconds(120), log);

        var http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + port;
        String body = "{\"language\":\"python\",\"segments\":{\"prefix\":\"def fib(n):\\n    \",\"suffix\":\"\\n\"}}";
        var denied = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                        .timeout(Duration.ofSeconds(60))
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .header("Content-Type", "application/json")
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(denied.statusCode())
                .as("the token from the Secret is required")
                .isEqualTo(401);

        var completion = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                        .timeout(Duration.ofSeconds(60))
                        .header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
        JsonNode choices = new ObjectMapper().readTree(completion.body()).path("choices");
        assertThat(choices.isArray() && !choices.isEmpty())
                .as(completion.body())
                .isTrue();
        assertThat(choices.get(0).path("text").isTextual())
                .as(completion.body())
                .isTrue();

        var health = http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/health"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + token)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
        JsonNode h = new ObjectMapper().readTree(health.body());
        assertThat(h.path("model").asText()).isEqualTo(Manifests.optionValue(image.args(), "--model"));
        assertThat(h.path("chat_model").asText()).isEqualTo(Manifests.optionValue(image.args(), "--chat-model"));
    }

    @Test
    void aPortFromThePlatformThatIsNotANumberStopsTheContainerWithOneClearLine() throws Exception {
        ImageDefinition image = ImageDefinition.read(ImageDefinition.repositoryRoot(), tmp.resolve("build"));
        Map<String, String> env = environment(image, tmp.resolve("rootfs"));
        env.put("PORT", "http");
        Path log = tmp.resolve("serve.log");
        Process p = start(entrypoint(image), env, log);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(Files.readString(log)).contains("Invalid value for option '--port': 'http' is not an int");
    }

    /** The image's ENTRYPOINT as a local command line (see the class comment for what stands in for what). */
    private static List<String> entrypoint(ImageDefinition image) {
        List<String> argv = new ArrayList<>();
        List<String> entrypoint = image.entrypoint();
        argv.add(javaBinary());
        for (int i = 1; i < entrypoint.size(); i++) {
            String a = entrypoint.get(i);
            if (a.startsWith("-XX:AOTCache="))
                continue; // made for the shaded jar, which this build's class path stands in for
            if (a.equals("-jar") && i + 1 < entrypoint.size()) {
                i++;
                argv.addAll(List.of("-cp", System.getProperty("java.class.path"), image.jarMainClass()));
                continue;
            }
            argv.add(a);
            if (a.equals("--host") && i + 1 < entrypoint.size()) {
                i++;
                argv.add(loopbackFor(entrypoint.get(i)));
            }
        }
        return argv;
    }

    /** The image's environment, its absolute paths under {@code rootfs}. */
    private static Map<String, String> environment(ImageDefinition image, Path rootfs) {
        Map<String, String> env = new HashMap<>();
        image.environment()
                .forEach((k, v) ->
                        env.put(k, v.startsWith("/") ? under(rootfs, v).toString() : v));
        return env;
    }

    /** A Tabby registry on loopback with one entry per model the image downloads, served from the fixtures. */
    private String startRegistry(ImageDefinition image) throws Exception {
        Path models = fixtures().resolve("models");
        Map<String, String> fixtureForKind = Map.of(
                "completion", "tiny-starcoder-17m-q8_0.gguf",
                "chat", "synth-qwen2-tiny-q8_0.gguf",
                "embedding", "synth-nomic-bert-tiny-f32.gguf");
        registry = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        registry.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        registry.createContext("/", ex -> {
            try (ex) {
                byte[] content = files.get(ex.getRequestURI().getPath());
                if (content == null) {
                    ex.sendResponseHeaders(404, -1);
                } else {
                    ex.sendResponseHeaders(200, content.length);
                    ex.getResponseBody().write(content);
                }
            }
        });
        registry.start();
        String base = "http://127.0.0.1:" + registry.getAddress().getPort();
        var mapper = new ObjectMapper();
        ArrayNode entries = mapper.createArrayNode();
        for (List<String> step : ImageDefinitionTest.downloadSteps(image)) {
            ModelId id = ModelId.parse(Manifests.optionValue(step, "--model"));
            String kind = Manifests.optionValue(step, "--kind");
            byte[] gguf = Files.readAllBytes(models.resolve(fixtureForKind.get(kind)));
            String path = "/files/" + id.name() + ".gguf";
            files.put(path, gguf);
            ObjectNode e = entries.addObject().put("name", id.name());
            e.putArray("urls").add(base + path);
            e.put(
                    "sha256",
                    HexFormat.of()
                            .formatHex(MessageDigest.getInstance("SHA-256").digest(gguf)));
            switch (kind) {
                case "completion" -> e.put("prompt_template", "<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>");
                case "chat" ->
                    e.put(
                            "chat_template",
                            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
                default -> {}
            }
        }
        files.put("/models.json", mapper.writeValueAsBytes(entries));
        return base + "/models.json";
    }

    /** Polls a TCP connect like Knative's queue-proxy; fails at once if the process exits first. */
    private void awaitTcpReadiness(int port, Duration limit, Path log) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!serve.isAlive()) {
                throw new AssertionError("catnap serve exited with " + serve.exitValue() + " before its port opened:\n"
                        + Files.readString(log));
            }
            try (var s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1000);
                return;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("port " + port + " not open after " + limit + ":\n" + Files.readString(log));
    }

    private static Process start(List<String> argv, Map<String, String> env, Path log) throws IOException {
        var pb = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().clear(); // only what the image (or the step) sets
        pb.environment().putAll(env);
        return pb.start();
    }

    private static String loopbackFor(String host) {
        assertThat(host).as("a container must listen on all interfaces").isEqualTo("0.0.0.0");
        return "127.0.0.1";
    }

    private static Path under(Path rootfs, String absolute) {
        assertThat(absolute).startsWith("/");
        return rootfs.resolve(absolute.substring(1));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Path fixtures() {
        String p = System.getProperty("catnap.fixtures");
        Path dir = p != null ? Path.of(p) : ImageDefinition.repositoryRoot().resolve("../shared/fixtures");
        assertThat(dir.resolve("models")).isDirectory();
        return dir;
    }
}
