package dev.catnap.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.gguf.GGUFMetadata;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelConfigTest {
    private static GGUFMetadata llama(int heads, int kvHeads) {
        Map<String, Object> m = new HashMap<>();
        m.put("general.architecture", "llama");
        m.put("llama.embedding_length", 1536);
        m.put("llama.attention.head_count", heads);
        m.put("llama.attention.head_count_kv", kvHeads);
        m.put("llama.block_count", 2);
        m.put("llama.feed_forward_length", 4096);
        m.put("llama.context_length", 2048);
        return new GGUFMetadata(m);
    }

    @Test
    void attentionShapeComesFromTheMetadata() {
        AttentionHeads a =
                ModelConfig.read(Architecture.LLAMA, llama(12, 2), 1000).attentionHeads();
        assertThat(a).isEqualTo(new AttentionHeads(12, 2, 128, (float) (1.0 / Math.sqrt(128))));
    }

    @Test
    void queryHeadsMustShareTheKeyValueHeadsEvenly() {
        assertThatThrownBy(() -> ModelConfig.read(Architecture.LLAMA, llama(12, 5), 1000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("llama: head_count 12 is not a multiple of head_count_kv 5");
    }
}
