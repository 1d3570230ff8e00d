package dev.catnap.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.gateway.GatewayConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The `catnap gateway` column of deploy/README.md's table: the defaults its users get (from `--help`, as printed)
 * are GatewayConfig's, which the manifests are checked against.
 */
class GatewayCliDefaultsTest {
    @Test
    void gatewayCommandDefaultsAreGatewayConfigDefaults() throws Exception {
        var pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        "dev.catnap.cli.Main",
                        "gateway",
                        "--help")
                .redirectErrorStream(true);
        Process p = pb.start();
        String help = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(help).isZero();

        GatewayConfig seed = GatewayConfig.defaults(List.of("worker", "{port}"), Path.of("unused"));
        assertThat(Integer.parseInt(defaultOf(help, "--max-inputs"))).isEqualTo(GatewayConfig.DEFAULT_MAX_INPUTS);
        assertThat(Manifests.goDuration(defaultOf(help, "--scaledown-window")))
                .isEqualTo(GatewayConfig.DEFAULT_SCALEDOWN_WINDOW);
        assertThat(Manifests.goDuration(defaultOf(help, "--startup-timeout")))
                .isEqualTo(GatewayConfig.DEFAULT_STARTUP_TIMEOUT);
        assertThat(Integer.parseInt(defaultOf(help, "--min-workers"))).isEqualTo(seed.minWorkers());
        assertThat(Integer.parseInt(defaultOf(help, "--max-workers"))).isEqualTo(seed.maxWorkers());
        assertThat(defaultOf(help, "--readiness")).isEqualTo("tcp");
    }

    private static String defaultOf(String help, String option) {
        // "--opt=<label> " starts the option's description (the synopsis has "]" there); its first default is the
        // option's.
        Matcher m = Pattern.compile(Pattern.quote(option) + "=<[^>]+> .*?\\(default: ([^)]+)\\)")
                .matcher(help);
        assertThat(m.find()).as("default of " + option + " in: " + help).isTrue();
        return m.group(1).strip();
    }
}
