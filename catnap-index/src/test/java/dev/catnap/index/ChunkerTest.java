package dev.catnap.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChunkerTest {
    @Test
    void javaMethodsStartChunksAndTheirJavadocGoesWithThem() {
        String methodA = "    /** Adds. */\n    public int add(int a, int b) {\n" + "        return a + b; // "
                + "x".repeat(200) + "\n    }\n";
        String methodB =
                "    @Override\n    public String toString() {\n        return \"" + "y".repeat(250) + "\";\n    }\n";
        String src = "package p;\n\npublic class Calc {\n" + methodA + "\n" + methodB + "}\n";
        List<Chunker.Chunk> chunks = new Chunker(400).split(src);
        assertThat(chunks).hasSize(2);
        assertThat(chunks.get(0).text())
                .startsWith("package p;")
                .contains("public int add")
                .doesNotContain("toString");
        assertThat(chunks.get(1).text())
                .startsWith("    @Override")
                .contains("toString")
                .endsWith("}");
        assertThat(chunks.get(1).startLine()).isEqualTo(9);
        assertThat(chunks.get(1).endLine()).isEqualTo(13);
    }

    @Test
    void smallDeclarationsArePackedTogether() {
        String src =
                "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\nclass C:\n    def m(self):\n        pass\n";
        List<Chunker.Chunk> chunks = new Chunker(512).split(src);
        assertThat(chunks).singleElement().satisfies(c -> {
            assertThat(c.startLine()).isEqualTo(1);
            assertThat(c.endLine()).isEqualTo(11);
        });
    }

    @Test
    void nestedCodeIsNotABoundaryAndLongBlocksAreCutIntoLineWindows() {
        var body = new StringBuilder("def long_function():\n");
        for (int i = 0; i < 60; i++)
            body.append("        value_")
                    .append(i)
                    .append(" = compute(")
                    .append(i)
                    .append(")\n");
        List<Chunker.Chunk> chunks = new Chunker(256).split(body.toString());
        assertThat(chunks.size()).isGreaterThan(5);
        assertThat(chunks).allSatisfy(c -> assertThat(c.text().length()).isLessThanOrEqualTo(256));
        for (int i = 1; i < chunks.size(); i++)
            assertThat(chunks.get(i).startLine()).isEqualTo(chunks.get(i - 1).endLine() + 1);
        assertThat(chunks.getLast().endLine()).isEqualTo(61);
    }

    @Test
    void declarationsAreRecognisedOnlyNearTheLeftMargin() {
        assertThat(Chunker.startsDeclaration("def f(x):")).isTrue();
        assertThat(Chunker.startsDeclaration("    private static final Map<String, Integer> build(List<String> xs) {"))
                .isTrue();
        assertThat(Chunker.startsDeclaration("export async function load(url) {"))
                .isTrue();
        assertThat(Chunker.startsDeclaration("pub(crate) fn parse(s: &str) -> u32 {"))
                .isTrue();
        assertThat(Chunker.startsDeclaration("        def nested():")).isFalse();
        assertThat(Chunker.startsDeclaration("    return compute(x);")).isFalse();
        assertThat(Chunker.startsDeclaration("    int x = call(y);")).isFalse();
        assertThat(Chunker.startsDeclaration("    if (ready(x)) {")).isFalse();
    }

    @Test
    void onlyBracesIsNoChunkAndTinySizesAreRefused() {
        assertThat(new Chunker(512).split("}\n}\n\n")).isEmpty();
        assertThatThrownBy(() -> new Chunker(10)).isInstanceOf(IllegalArgumentException.class);
    }
}
