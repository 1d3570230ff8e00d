package dev.catnap.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code /v1/health} body, computed once at startup as Tabby does. {@code version} is always present:
 * tabby-agent 1.5.0 crashes when {@code model} and {@code device} are there without it.
 */
final class HealthInfo {
    private HealthInfo() {}

    static byte[] json(
            ObjectMapper json,
            ServerOptions options,
            Optional<String> model,
            Optional<String> chatModel,
            Optional<String> embeddingModel) {
        ObjectNode h = json.createObjectNode();
        model.ifPresent(m -> h.put("model", m));
        chatModel.ifPresent(m -> {
            h.put("chat_model", m);
            h.put("chat_device", options.device());
        });
        h.put("device", options.device());
        options.cudaDevices().forEach(h.putArray("cuda_devices")::add);
        ObjectNode models = h.putObject("models");
        model.ifPresent(m -> local(models.putObject("completion"), m, options.device(), options.cudaDevices()));
        chatModel.ifPresent(m -> local(models.putObject("chat"), m, options.device(), options.cudaDevices()));
        // Embeddings always run on the CPU engine, whatever --device says.
        embeddingModel.ifPresent(m -> local(models.putObject("embedding"), m, "cpu", java.util.List.of()));
        h.put("arch", arch());
        h.put("cpu_info", cpuInfo());
        h.put("cpu_count", Runtime.getRuntime().availableProcessors());
        ObjectNode v = h.putObject("version");
        v.putNull("build_date");
        v.putNull("build_timestamp");
        v.putNull("git_sha");
        v.put("git_describe", "v" + options.version());
        // Catnap has no EE webserver (no web UI or user database); Tabby's non-EE builds report null.
        h.putNull("webserver");
        try {
            return json.writeValueAsBytes(h);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void local(ObjectNode role, String id, String device, java.util.List<String> cudaDevices) {
        ObjectNode l = role.putObject("local");
        l.put("model_id", id);
        l.put("device", device);
        cudaDevices.forEach(l.putArray("cuda_devices")::add);
    }

    /** Rust's std::env::consts::ARCH names, which Tabby reports. */
    static String arch() {
        String a = System.getProperty("os.arch", "unknown");
        return switch (a) {
            case "amd64", "x86_64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> a;
        };
    }

    static String cpuInfo() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name") && line.contains(":"))
                    return line.substring(line.indexOf(':') + 1).strip();
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or not readable: fall through
        }
        return arch();
    }
}
