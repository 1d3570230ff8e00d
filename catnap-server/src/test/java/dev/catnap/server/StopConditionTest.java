package dev.catnap.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopConditionTest {
    @Test
    void tabbyRuleMatchesOnlyAtTheEndAfterAPiece() {
        var s = StopCondition.tabby(List.of("\n\n", "\ndef"), "x = 1\n");
        assertThat(s.append("y = 2")).isTrue();
        assertThat(s.append("\n\n    z")).isTrue(); // inside one piece and not at its end: Tabby does not see it
        assertThat(s.append("\n\n")).isFalse();
        assertThat(s.text()).isEqualTo("y = 2\n\n    z");
        assertThat(s.append("more")).isFalse();
    }

    @Test
    void aStopWordStraddlingThePromptEmptiesTheOutput() {
        var s = StopCondition.tabby(List.of("\ndef"), "pass\n");
        assertThat(s.append("def")).isFalse();
        assertThat(s.text()).isEmpty();
    }

    @Test
    void theShortestMatchingStopWordIsCut() {
        var s = StopCondition.tabby(List.of("\n\n", "b\n\n"), "");
        assertThat(s.append("ab\n\n")).isFalse();
        assertThat(s.text()).isEqualTo("ab");
    }

    @Test
    void openAiRuleCutsAtTheFirstOccurrenceAnywhere() {
        var s = StopCondition.openAi(List.of("END", "xyz"));
        assertThat(s.append("abcE")).isTrue();
        assertThat(s.append("NDdef")).isFalse();
        assertThat(s.text()).isEqualTo("abc");
        var none = StopCondition.openAi(List.of());
        assertThat(none.append("anything")).isTrue();
        assertThat(none.text()).isEqualTo("anything");
    }
}
