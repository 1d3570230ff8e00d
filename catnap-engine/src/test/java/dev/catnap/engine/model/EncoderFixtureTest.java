package dev.catnap.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.catnap.engine.cpu.CpuBackend;
import dev.catnap.engine.gguf.GGUFFile;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Embeddings against llama-embedding on the fixture token ids: each pooled value within 1e-4 (cosine above 0.9999)
 * and each token's final hidden state within 2e-3, the README's bounds for a float32 port.
 */
class EncoderFixtureTest {

    @ParameterizedTest
    @ValueSource(strings = {"synth-nomic-bert-tiny-f32", "synth-bert-tiny-f32"})
    void embeddingsMatchLlamaCpp(String name) throws Exception {
        Map<String, Object> fx = Json.object(Json.read(Fixtures.expected(name + ".embeddings.json")));
        GGUFFile file = GGUFFile.open(Fixtures.model(name + ".gguf"));
        try (var encoder = (Encoders.Encoder) Encoders.create(file, null, new CpuBackend(1))) {
            assertThat(encoder.dimensions()).isEqualTo(64);
            for (Object o : Json.array(fx.get("items"))) {
                Map<String, Object> item = Json.object(o);
                int[] ids = Json.ints(item.get("token_ids"));
                float[] expected = Json.floats(item.get("embedding"));
                float[] got = encoder.embedTokens(ids);
                double dot = 0, na = 0, nb = 0;
                for (int i = 0; i < 64; i++) {
                    assertThat(got[i]).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4f));
                    dot += got[i] * expected[i];
                    na += got[i] * got[i];
                    nb += expected[i] * expected[i];
                }
                assertThat(dot / Math.sqrt(na * nb)).isGreaterThan(0.9999);
                float[] states = encoder.hiddenStates(ids);
                var tokenStates = Json.array(item.get("token_states"));
                for (int t = 0; t < ids.length; t++) {
                    float[] row = Json.floats(tokenStates.get(t));
                    for (int i = 0; i < 64; i++) {
                        assertThat(states[t * 64 + i]).isCloseTo(row[i], org.assertj.core.data.Offset.offset(2e-3f));
                    }
                }
            }
        }
    }

    /** End to end through EmbeddingModel.load: the model's own tokenizer, then the encoder. */
    @ParameterizedTest
    @ValueSource(strings = {"synth-nomic-bert-tiny-f32", "synth-bert-tiny-f32"})
    void embeddingModelEmbedsTextLikeLlamaCpp(String name) throws Exception {
        Map<String, Object> fx = Json.object(Json.read(Fixtures.expected(name + ".embeddings.json")));
        try (var model = dev.catnap.engine.Engine.embeddingModel(
                Fixtures.model(name + ".gguf"), new dev.catnap.engine.EngineOptions(1, 1, 1 << 20))) {
            for (Object o : Json.array(fx.get("items"))) {
                Map<String, Object> item = Json.object(o);
                float[] expected = Json.floats(item.get("embedding"));
                float[] got = model.embed((String) item.get("text"));
                for (int i = 0; i < expected.length; i++) {
                    assertThat(got[i])
                            .as("%s value %d", item.get("text"), i)
                            .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4f));
                }
            }
        }
    }
}
