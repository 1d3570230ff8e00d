package dev.catnap.index;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Splits a source file into chunks at declaration boundaries, without a parser. The rule (no maintained tree-sitter
 * binding for Java resolves from Maven Central with prebuilt grammars, so this is a documented line rule):
 * <ol>
 *   <li>A line starts a <em>block</em> when it is indented by at most {@value #MAX_DECLARATION_INDENT} columns (a tab
 *       counts 4) and it begins a declaration: a keyword such as {@code def class interface enum record struct trait
 *       impl fn func function fun object module namespace type} after optional modifiers, or a C-family method
 *       signature ({@code Type name(...} not ending in {@code ;}). So top-level items and the members of a top-level
 *       class (Java methods, Python methods) each start a block; nested code never does.</li>
 *   <li>Comment, doc-comment, annotation and decorator lines directly above a block's first line belong to it.</li>
 *   <li>Consecutive blocks are packed into one chunk while it stays within {@code maxChars} characters; a block
 *       longer than that is cut into windows of whole lines within {@code maxChars} (a single longer line is cut).</li>
 *   <li>Chunks without a letter or digit (closing braces) are dropped.</li>
 * </ol>
 * Tabby's default chunk size is 512 characters, which also keeps a chunk inside the prompt's 768-byte snippet budget.
 */
public final class Chunker {
    public static final int DEFAULT_MAX_CHARS = 512;
    static final int MAX_DECLARATION_INDENT = 4;

    private static final Pattern KEYWORD_DECLARATION = Pattern.compile(
            "^(?:(?:export|default|public|private|protected|internal|static|final|abstract|sealed|non-sealed|open|override"
                    + "|async|inline|virtual|extern|unsafe|pub(?:\\([^)]*\\))?|synchronized|native|suspend|data|inner|partial"
                    + "|readonly|declare)\\s+)*"
                    + "(?:def|class|interface|enum|record|struct|union|trait|impl|fn|func|function|fun|object|module|namespace"
                    + "|type|typedef|template|macro_rules!|@interface)\\b");
    private static final Pattern METHOD_SIGNATURE = Pattern.compile("^(?:[\\w$<>\\[\\],.?&*:]+\\s+)+[\\w$]+\\s*\\(");
    private static final Pattern NOT_A_SIGNATURE = Pattern.compile(
            "^(?:return|if|for|while|switch|else|new|throw|catch|case|do|try|yield|await|assert|goto|delete|sizeof)\\b");
    private static final Pattern ATTACHED_ABOVE = Pattern.compile("^(?://|/\\*|\\*|#|@|--|;;|\"\"\"|''')");

    /** One chunk: lines {@code startLine..endLine} (1-based, inclusive) of the file and their text. */
    public record Chunk(int startLine, int endLine, String text) {}

    private final int maxChars;

    public Chunker(int maxChars) {
        if (maxChars < 64)
            throw new IllegalArgumentException("chunk size must be at least 64 characters, got " + maxChars);
        this.maxChars = maxChars;
    }

    public List<Chunk> split(String content) {
        List<String> lines = content.lines().toList();
        List<int[]> blocks = blocks(lines); // [start, endExclusive], 0-based
        var chunks = new ArrayList<Chunk>();
        int packStart = -1, packEnd = -1, packChars = 0;
        for (int[] block : blocks) {
            int chars = chars(lines, block[0], block[1]);
            if (packStart >= 0 && packChars + chars <= maxChars) {
                packEnd = block[1];
                packChars += chars;
                continue;
            }
            if (packStart >= 0) emit(lines, packStart, packEnd, chunks);
            if (chars <= maxChars) {
                packStart = block[0];
                packEnd = block[1];
                packChars = chars;
            } else {
                windows(lines, block[0], block[1], chunks);
                packStart = -1;
                packChars = 0;
            }
        }
        if (packStart >= 0) emit(lines, packStart, packEnd, chunks);
        return chunks;
    }

    private List<int[]> blocks(List<String> lines) {
        var starts = new ArrayList<Integer>();
        starts.add(0);
        for (int i = 1; i < lines.size(); i++) {
            if (!startsDeclaration(lines.get(i))) continue;
            int start = i;
            while (start > 0
                    && !lines.get(start - 1).isBlank()
                    && ATTACHED_ABOVE.matcher(lines.get(start - 1).strip()).find()
                    && start - 1 > starts.getLast()) {
                start--;
            }
            if (start > starts.getLast()) starts.add(start);
        }
        var blocks = new ArrayList<int[]>();
        for (int i = 0; i < starts.size(); i++) {
            int end = i + 1 < starts.size() ? starts.get(i + 1) : lines.size();
            if (end > starts.get(i)) blocks.add(new int[] {starts.get(i), end});
        }
        return blocks;
    }

    static boolean startsDeclaration(String line) {
        if (line.isBlank() || indent(line) > MAX_DECLARATION_INDENT) return false;
        String s = line.strip();
        if (KEYWORD_DECLARATION.matcher(s).find()) return true;
        // cheap tests first: this runs on every line of every file
        if (s.indexOf('(') < 0 || s.endsWith(";")) return false;
        return !NOT_A_SIGNATURE.matcher(s).find() && METHOD_SIGNATURE.matcher(s).lookingAt();
    }

    private static int indent(String line) {
        int columns = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == ' ') columns++;
            else if (c == '\t') columns += 4;
            else break;
        }
        return columns;
    }

    private void windows(List<String> lines, int start, int end, List<Chunk> out) {
        int from = start, chars = 0;
        for (int i = start; i < end; i++) {
            int len = lines.get(i).length() + 1;
            if (i > from && chars + len > maxChars) {
                emit(lines, from, i, out);
                from = i;
                chars = 0;
            }
            chars += len;
        }
        if (from < end) emit(lines, from, end, out);
    }

    private void emit(List<String> lines, int start, int end, List<Chunk> out) {
        while (end > start && lines.get(end - 1).isBlank()) end--;
        while (start < end && lines.get(start).isBlank()) start++;
        if (start >= end) return;
        String text = String.join("\n", lines.subList(start, end));
        if (text.length() > maxChars) text = text.substring(0, maxChars); // one line longer than a chunk
        if (text.chars().noneMatch(Character::isLetterOrDigit)) return;
        out.add(new Chunk(start + 1, end, text));
    }

    private static int chars(List<String> lines, int start, int end) {
        int n = 0;
        for (int i = start; i < end; i++) n += lines.get(i).length() + 1;
        return n;
    }
}
