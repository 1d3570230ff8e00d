package dev.catnap.index;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The languages the index knows, named as Tabby's index names them (JavaScript and TypeScript share one), by file
 * extension for indexing and by the editor's language id (VS Code's) for filtering a search.
 */
public final class CodeLanguage {
    private static final Map<String, String> BY_EXTENSION = Map.ofEntries(
            Map.entry("py", "python"),
            Map.entry("pyi", "python"),
            Map.entry("java", "java"),
            Map.entry("kt", "kotlin"),
            Map.entry("kts", "kotlin"),
            Map.entry("scala", "scala"),
            Map.entry("js", "javascript-typescript"),
            Map.entry("jsx", "javascript-typescript"),
            Map.entry("mjs", "javascript-typescript"),
            Map.entry("cjs", "javascript-typescript"),
            Map.entry("ts", "javascript-typescript"),
            Map.entry("tsx", "javascript-typescript"),
            Map.entry("mts", "javascript-typescript"),
            Map.entry("cts", "javascript-typescript"),
            Map.entry("go", "go"),
            Map.entry("rs", "rust"),
            Map.entry("rb", "ruby"),
            Map.entry("c", "c"),
            Map.entry("h", "c"),
            Map.entry("cc", "cpp"),
            Map.entry("cpp", "cpp"),
            Map.entry("cxx", "cpp"),
            Map.entry("hpp", "cpp"),
            Map.entry("hh", "cpp"),
            Map.entry("hxx", "cpp"),
            Map.entry("cs", "csharp"),
            Map.entry("php", "php"),
            Map.entry("swift", "swift"),
            Map.entry("lua", "lua"),
            Map.entry("dart", "dart"),
            Map.entry("sh", "shell"),
            Map.entry("bash", "shell"),
            Map.entry("sql", "sql"));

    // Editor ids that differ from the index's name for the same language.
    private static final Map<String, String> BY_EDITOR_ID = Map.of(
            "javascript",
            "javascript-typescript",
            "typescript",
            "javascript-typescript",
            "javascriptreact",
            "javascript-typescript",
            "typescriptreact",
            "javascript-typescript",
            "shellscript",
            "shell",
            "bash",
            "shell",
            "sh",
            "shell",
            "c++",
            "cpp",
            "c#",
            "csharp");

    private CodeLanguage() {}

    /** The index language of a path, by its extension; empty for files the index skips. */
    public static Optional<String> ofPath(String path) {
        int slash = path.lastIndexOf('/');
        int dot = path.lastIndexOf('.');
        if (dot <= slash + 1) return Optional.empty(); // no extension, or a dot file
        return Optional.ofNullable(BY_EXTENSION.get(path.substring(dot + 1).toLowerCase(Locale.ROOT)));
    }

    /** The index language an editor's language id searches; empty for ids the index has no files of. */
    public static Optional<String> ofEditorId(String languageId) {
        if (languageId == null || languageId.isBlank()) return Optional.empty();
        String id = languageId.strip().toLowerCase(Locale.ROOT);
        String mapped = BY_EDITOR_ID.getOrDefault(id, id);
        return BY_EXTENSION.containsValue(mapped) ? Optional.of(mapped) : Optional.empty();
    }
}
