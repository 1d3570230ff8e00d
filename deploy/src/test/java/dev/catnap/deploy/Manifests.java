package dev.catnap.deploy;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.Container;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The deployment manifests, read into fabric8's typed Knative model. */
final class Manifests {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private Manifests() {}

    static Path deployDir() {
        return ImageDefinition.repositoryRoot().resolve("deploy");
    }

    static Service service(String relativePath) throws IOException {
        return YAML.readValue(deployDir().resolve(relativePath).toFile(), Service.class);
    }

    static Container container(Service service) {
        List<Container> containers = service.getSpec().getTemplate().getSpec().getContainers();
        if (containers.size() != 1) throw new AssertionError("expected one container, got " + containers.size());
        return containers.getFirst();
    }

    static Map<String, String> revisionAnnotations(Service service) {
        return service.getSpec().getTemplate().getMetadata().getAnnotations();
    }

    /**
     * Fields the typed model did not recognise (a typo such as {@code containerConcurency} lands in a fabric8
     * object's additionalProperties instead of failing the parse), as dotted paths.
     */
    static List<String> unknownFields(Object root) {
        List<String> found = new ArrayList<>();
        walk(root, "", found, 0);
        return found;
    }

    private static void walk(Object value, String path, List<String> found, int depth) {
        if (value == null || depth > 40) return;
        if (value instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) walk(list.get(i), path + "[" + i + "]", found, depth + 1);
            return;
        }
        if (value instanceof Map<?, ?> map) {
            map.forEach((k, v) -> walk(v, path + "." + k, found, depth + 1));
            return;
        }
        if (!value.getClass().getName().startsWith("io.fabric8.")) return;
        try {
            var extra = value.getClass().getMethod("getAdditionalProperties").invoke(value);
            if (extra instanceof Map<?, ?> m) m.keySet().forEach(k -> found.add(path + "." + k));
        } catch (ReflectiveOperationException e) {
            // a fabric8 value type without additional properties (Quantity, IntOrString)
        }
        JavaType type = YAML.constructType(value.getClass());
        for (BeanPropertyDefinition p :
                YAML.getSerializationConfig().introspect(type).findProperties()) {
            if (p.getGetter() == null) continue;
            Object child;
            try {
                child = p.getGetter().getValue(value);
            } catch (RuntimeException e) {
                continue;
            }
            walk(child, path + "." + p.getName(), found, depth + 1);
        }
    }

    private static final Pattern DURATION_PART = Pattern.compile("(\\d+)(h|m|s)");

    /** A Go duration as Knative annotations take it ("2m", "600s", "1h30m"). */
    static Duration goDuration(String text) {
        Matcher m = DURATION_PART.matcher(text);
        Duration d = Duration.ZERO;
        int end = 0;
        while (m.find() && m.start() == end) {
            long n = Long.parseLong(m.group(1));
            d = d.plus(
                    switch (m.group(2)) {
                        case "h" -> Duration.ofHours(n);
                        case "m" -> Duration.ofMinutes(n);
                        default -> Duration.ofSeconds(n);
                    });
            end = m.end();
        }
        if (end == 0 || end != text.length()) throw new IllegalArgumentException("not a duration: '" + text + "'");
        return d;
    }

    /** The value after {@code option} in an argument list. */
    static String optionValue(List<String> args, String option) {
        int i = args.indexOf(option);
        if (i < 0 || i + 1 >= args.size()) throw new AssertionError(option + " not given in " + args);
        return args.get(i + 1);
    }

    /** The arguments without {@code option} and its value. */
    static List<String> without(List<String> args, String option) {
        List<String> out = new ArrayList<>(args);
        int i = out.indexOf(option);
        if (i >= 0) {
            out.remove(i + 1);
            out.remove(i);
        }
        return out;
    }
}
