package dev.catnap.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The container image as catnap-cli's {@code image} Maven profile defines it, read from the pom itself (with its
 * properties resolved as Maven would), so the tests exercise exactly what Jib builds.
 *
 * @param entrypoint  the image's ENTRYPOINT
 * @param args        its default CMD: the baked models
 * @param buildSteps  the commands the exec plugin runs at package time, before Jib (each: executable, arguments)
 */
record ImageDefinition(
        String baseImage,
        List<String> entrypoint,
        List<String> args,
        Map<String, String> environment,
        List<Integer> ports,
        List<ExtraDirectory> extraDirectories,
        List<List<String>> buildSteps,
        String shadedJar,
        String jarMainClass,
        Map<String, String> properties) {

    /** A Jib extra directory: {@code from} on the build machine becomes {@code into} in the image, as its own layer. */
    record ExtraDirectory(Path from, String into) {}

    static final String PROFILE = "image";
    private static final Pattern PROPERTY = Pattern.compile("\\$\\{([^}]+)}");

    /** The repository root, found from the module directory surefire runs in. */
    static Path repositoryRoot() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("catnap-cli/pom.xml")) && Files.isRegularFile(p.resolve("pom.xml")))
                return p;
        }
        throw new IllegalStateException("no Catnap checkout above " + here);
    }

    /** Reads the definition; {@code buildDirectory} stands for {@code ${project.build.directory}}. */
    static ImageDefinition read(Path root, Path buildDirectory) throws IOException {
        Element parent = parse(root.resolve("pom.xml"));
        Element cli = parse(root.resolve("catnap-cli/pom.xml"));
        Element profile = children(child(cli, "profiles"), "profile").stream()
                .filter(p -> text(child(p, "id")).equals(PROFILE))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("catnap-cli/pom.xml has no profile " + PROFILE));

        Map<String, String> props = new HashMap<>();
        properties(parent, props);
        properties(cli, props);
        properties(profile, props);
        props.put("project.version", text(child(parent, "version")));
        props.put("project.build.directory", buildDirectory.toString());
        props.put("java.home", System.getProperty("java.home"));
        var resolver = new Resolver(props);

        Element plugins = child(child(profile, "build"), "plugins");
        Element jib = plugin(plugins, "jib-maven-plugin")
                .orElseThrow(() -> new IllegalStateException("profile " + PROFILE + " has no jib-maven-plugin"));
        Element config = child(jib, "configuration");
        Element container = child(config, "container");
        Map<String, String> env = new LinkedHashMap<>();
        for (Element e : children(child(container, "environment"), null))
            env.put(e.getTagName(), resolver.resolve(text(e)));
        List<Integer> ports = children(child(container, "ports"), "port").stream()
                .map(e -> Integer.parseInt(resolver.resolve(text(e))))
                .toList();
        List<ExtraDirectory> extra = new ArrayList<>();
        for (Element p : children(child(child(config, "extraDirectories"), "paths"), "path")) {
            extra.add(new ExtraDirectory(
                    Path.of(resolver.resolve(text(child(p, "from")))), resolver.resolve(text(child(p, "into")))));
        }

        List<List<String>> steps = new ArrayList<>();
        Optional<Element> exec = plugin(plugins, "exec-maven-plugin");
        if (exec.isPresent()) {
            for (Element execution : children(child(exec.get(), "executions"), "execution")) {
                Element c = child(execution, "configuration");
                List<String> step = new ArrayList<>();
                step.add(resolver.resolve(text(child(c, "executable"))));
                for (Element a : children(child(c, "arguments"), "argument")) step.add(resolver.resolve(text(a)));
                steps.add(List.copyOf(step));
            }
        }

        // The runnable jar the build steps call, and its main class (catnap-cli's shade configuration).
        Element shade = plugin(child(child(cli, "build"), "plugins"), "maven-shade-plugin")
                .orElseThrow();
        Element shadeConfig = child(child(child(shade, "executions"), "execution"), "configuration");
        String outputFile = resolver.resolve(text(child(shadeConfig, "outputFile")));
        String mainClass = children(child(shadeConfig, "transformers"), "transformer").stream()
                .map(t -> child(t, "mainClass"))
                .filter(e -> e != null)
                .map(ImageDefinition::text)
                .findFirst()
                .orElseThrow();

        return new ImageDefinition(
                resolver.resolve(text(child(child(config, "from"), "image"))),
                args(child(container, "entrypoint"), resolver),
                args(child(container, "args"), resolver),
                Map.copyOf(env),
                ports,
                List.copyOf(extra),
                List.copyOf(steps),
                outputFile,
                mainClass,
                Map.copyOf(props));
    }

    private static List<String> args(Element list, Resolver resolver) {
        return children(list, "arg").stream()
                .map(e -> resolver.resolve(text(e)))
                .toList();
    }

    private record Resolver(Map<String, String> props) {
        String resolve(String value) {
            String v = value;
            for (int depth = 0; depth < 10; depth++) {
                Matcher m = PROPERTY.matcher(v);
                if (!m.find()) return v;
                var sb = new StringBuilder();
                m.reset();
                while (m.find()) {
                    String p = props.get(m.group(1));
                    if (p == null)
                        throw new IllegalStateException(
                                "pom property ${" + m.group(1) + "} is not defined (in '" + value + "')");
                    m.appendReplacement(sb, Matcher.quoteReplacement(p));
                }
                m.appendTail(sb);
                v = sb.toString();
            }
            throw new IllegalStateException("pom properties nest too deep in '" + value + "'");
        }
    }

    private static Optional<Element> plugin(Element plugins, String artifactId) {
        return children(plugins, "plugin").stream()
                .filter(p -> text(child(p, "artifactId")).equals(artifactId))
                .findFirst();
    }

    private static void properties(Element owner, Map<String, String> into) {
        Element props = child(owner, "properties");
        if (props == null) return;
        for (Element e : children(props, null)) into.put(e.getTagName(), text(e));
    }

    private static Element parse(Path pom) throws IOException {
        try {
            var factory = DocumentBuilderFactory.newInstance();
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            Document doc = factory.newDocumentBuilder().parse(pom.toFile());
            return doc.getDocumentElement();
        } catch (javax.xml.parsers.ParserConfigurationException | org.xml.sax.SAXException e) {
            throw new IOException("cannot parse " + pom + ": " + e.getMessage(), e);
        }
    }

    /** The first child element named {@code name}, or null. */
    private static Element child(Element parent, String name) {
        if (parent == null) return null;
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        }
        return null;
    }

    /** Child elements named {@code name} (any name when null), in document order. */
    private static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        if (parent == null) return out;
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && (name == null || e.getTagName().equals(name))) out.add(e);
        }
        return out;
    }

    private static String text(Element e) {
        if (e == null) throw new IllegalStateException("missing element in the image profile");
        return e.getTextContent().strip();
    }
}
