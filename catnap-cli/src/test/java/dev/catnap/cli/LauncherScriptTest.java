package dev.catnap.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The ./catnap launcher without a JDK 25: one clear line and a non-zero exit, before any build is tried. */
class LauncherScriptTest {
    private static final Path LAUNCHER =
            Path.of("").toAbsolutePath().getParent().resolve("catnap");

    @Test
    void withoutAJdk25ItSaysWhatToInstallInOneLine() throws Exception {
        assertThat(LAUNCHER).exists();
        ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--version").redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.clear();
        env.put("HOME", System.getProperty("java.io.tmpdir"));
        env.put("PATH", "/usr/bin:/bin");
        env.put("CATNAP_JDK_DIRS", "/nonexistent-jdk-dir/*");
        Path oldJdk = Path.of("/nonexistent-jdk-17");
        for (Path p : Files.newDirectoryStream(Path.of("/usr/lib/jvm"))) {
            if (p.getFileName().toString().contains("17")) oldJdk = p;
        }
        env.put("JAVA_HOME", oldJdk.toString());
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).isEqualTo(127);
        assertThat(out.lines())
                .singleElement()
                .asString()
                .startsWith("catnap: needs a JDK 25 or newer")
                .contains("install");
    }
}
