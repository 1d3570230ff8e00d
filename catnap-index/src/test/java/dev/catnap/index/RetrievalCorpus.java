package dev.catnap.index;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.eclipse.jgit.api.Git;

/**
 * The retrieval benchmarks' repository and held-out cursors. The repository is Lucene core's sources (the
 * {@code lucene-core:sources} jar from Maven Central on the test class path, 1176 Java files) committed to a git
 * repository. A cursor is a call site of a method that exactly one other file declares: the prefix is the 20 lines
 * before the call and the line up to the method's name (what tabby-agent sends), the method's name is not in it, and
 * the right answer is the chunk of the other file that holds the declaration.
 */
final class RetrievalCorpus {
    static final int PREFIX_LINES = 20;
    private static final Pattern DECLARATION = Pattern.compile(
            "^\\s{0,4}(?:@\\w+\\s+)*(?:(?:public|protected|private|static|final|abstract|synchronized|native|default|strictfp)\\s+)+"
                    + "(?:<[^>]+>\\s+)?[\\w<>\\[\\],.?]+(?:\\s*\\[\\])?\\s+(\\w+)\\s*\\(");
    private static final Pattern CALL = Pattern.compile("\\b([a-z]\\w{5,})\\s*\\(");

    record Cursor(String filepath, String prefix, String symbol, String definingFile, int definingLine) {}

    private RetrievalCorpus() {}

    static Path sourcesJar() {
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (entry.matches(".*lucene-core-[0-9.]+-sources\\.jar$")) return Path.of(entry);
        }
        throw new IllegalStateException(
                "lucene-core sources jar not on the class path (catnap-index's test dependency)");
    }

    /** Extracts the jar's Java files into {@code dir} and commits them, once. */
    static Path repository(Path dir) throws Exception {
        if (Files.isDirectory(dir.resolve(".git"))) return dir;
        Files.createDirectories(dir);
        try (InputStream in = Files.newInputStream(sourcesJar());
                ZipInputStream zip = new ZipInputStream(in)) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                if (e.isDirectory() || !e.getName().endsWith(".java")) continue;
                Path out = dir.resolve(e.getName()).normalize();
                if (!out.startsWith(dir)) continue;
                Files.createDirectories(out.getParent());
                Files.write(out, zip.readAllBytes());
            }
        }
        try (Git git =
                Git.init().setDirectory(dir.toFile()).setInitialBranch("main").call()) {
            git.add().addFilepattern(".").call();
            git.commit()
                    .setMessage("lucene-core sources")
                    .setAuthor("bench", "bench@catnap.local")
                    .setCommitter("bench", "bench@catnap.local")
                    .setSign(false)
                    .call();
        }
        return dir;
    }

    static List<Path> javaFiles(Path repo) throws IOException {
        try (Stream<Path> s = Files.walk(repo)) {
            return s.filter(p -> p.toString().endsWith(".java") && !p.toString().contains("/.git/"))
                    .sorted()
                    .toList();
        }
    }

    /** Up to {@code max} cursors, at most one per file, chosen with a fixed seed. */
    static List<Cursor> cursors(Path repo, int max, long seed) throws IOException {
        Map<String, Set<String>> definedIn = new HashMap<>();
        Map<String, Integer> lineOf = new HashMap<>(); // symbol + '\n' + file -> line
        Map<String, List<String>> contents = new LinkedHashMap<>();
        for (Path f : javaFiles(repo)) {
            String rel = repo.relativize(f).toString().replace('\\', '/');
            List<String> lines = Files.readAllLines(f);
            contents.put(rel, lines);
            for (int i = 0; i < lines.size(); i++) {
                Matcher m = DECLARATION.matcher(lines.get(i));
                if (m.find()) {
                    definedIn.computeIfAbsent(m.group(1), k -> new HashSet<>()).add(rel);
                    lineOf.putIfAbsent(m.group(1) + "\n" + rel, i + 1);
                }
            }
        }
        Map<String, List<Cursor>> byFile = new LinkedHashMap<>();
        for (var file : contents.entrySet()) {
            List<String> lines = file.getValue();
            for (int i = PREFIX_LINES; i < lines.size(); i++) {
                String line = lines.get(i);
                String stripped = line.strip();
                if (stripped.startsWith("//")
                        || stripped.startsWith("*")
                        || stripped.startsWith("/*")
                        || DECLARATION.matcher(line).find()) continue;
                Matcher m = CALL.matcher(line);
                while (m.find()) {
                    Set<String> where = definedIn.get(m.group(1));
                    if (where == null || where.size() != 1 || where.contains(file.getKey())) continue;
                    String prefix = String.join("\n", lines.subList(i - PREFIX_LINES, i)) + "\n"
                            + line.substring(0, m.start(1));
                    if (prefix.contains(m.group(1))) continue;
                    String def = where.iterator().next();
                    byFile.computeIfAbsent(file.getKey(), k -> new ArrayList<>())
                            .add(new Cursor(
                                    file.getKey(), prefix, m.group(1), def, lineOf.get(m.group(1) + "\n" + def)));
                }
            }
        }
        Random random = new Random(seed);
        List<Cursor> out = new ArrayList<>();
        List<String> files = new ArrayList<>(byFile.keySet());
        Collections.shuffle(files, random);
        for (String f : files) {
            if (out.size() >= max) break;
            List<Cursor> c = byFile.get(f);
            out.add(c.get(random.nextInt(c.size())));
        }
        return out;
    }

    static boolean isAnswer(CodeSearch.Hit hit, Cursor c) {
        return hit.filepath().equals(c.definingFile())
                && hit.startLine() <= c.definingLine()
                && c.definingLine() <= hit.endLine();
    }

    static CodeSearch.Request request(String source, Cursor c, int limit, boolean thresholds) {
        return new CodeSearch.Request(
                c.prefix(),
                java.util.Optional.of(source),
                java.util.Optional.of("java"),
                java.util.Optional.of(c.filepath()),
                limit,
                thresholds);
    }
}
