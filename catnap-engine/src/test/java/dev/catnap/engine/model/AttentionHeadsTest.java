package dev.catnap.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class AttentionHeadsTest {
    @Test
    void queryHeadsMustShareTheKeyValueHeadsEvenly() {
        assertThat(new AttentionHeads(16, 1, 128, 0.5f).kvHeads()).isEqualTo(1);
        assertThat(new AttentionHeads(12, 2, 128, 0.5f).heads()).isEqualTo(12);
        assertThatThrownBy(() -> new AttentionHeads(12, 5, 128, 0.5f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("12 query heads over 5 KV heads");
        assertThatThrownBy(() -> new AttentionHeads(0, 1, 128, 0.5f)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AttentionHeads(4, 4, 0, 0.5f)).isInstanceOf(IllegalArgumentException.class);
    }
}
