package dev.catnap.engine.sampling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.catnap.engine.SamplingParams;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static float[] logits(float... v) {
        return v.clone();
    }

    @Test
    void greedyTakesTheLargestLogitAndTheLowestIdOnTies() {
        var s = new Sampler(SamplingParams.greedy());
        assertThat(s.sample(logits(0.1f, 2f, -1f, 2f), 0, 4)).isEqualTo(1);
        assertThat(Sampler.argmax(logits(5f, 1f, 7f, 7f), 1, 3)).isEqualTo(1);
    }

    @Test
    void sameSeedSameTokensAndOtherSeedsDiffer() {
        var params = new SamplingParams(1.0f, 0, 1f, 0f, 1f, 0f, 0, 7);
        float[] flat = new float[50];
        int[] a = new int[40], b = new int[40];
        var sa = new Sampler(params);
        var sb = new Sampler(params);
        for (int i = 0; i < a.length; i++) {
            a[i] = sa.sample(flat.clone(), 0, flat.length);
            b[i] = sb.sample(flat.clone(), 0, flat.length);
        }
        assertThat(a).containsExactly(b);
        var sc = new Sampler(params.withSeed(8));
        int[] c = new int[40];
        for (int i = 0; i < c.length; i++) c[i] = sc.sample(flat.clone(), 0, flat.length);
        assertThat(c).isNotEqualTo(a);
    }

    @Test
    void topKTopPAndMinPRestrictTheCandidates() {
        float[] l = logits(5f, 4.9f, 4.8f, 0f, -1f, 3f);
        Set<Integer> seen = new HashSet<>();
        var topK = new Sampler(new SamplingParams(5f, 2, 1f, 0f, 1f, 0f, 0, 1));
        for (int i = 0; i < 300; i++) seen.add(topK.sample(l.clone(), 0, l.length));
        assertThat(seen).containsExactlyInAnyOrder(0, 1);

        seen.clear();
        // exp(0), exp(-0.1), exp(-0.2) hold most of the mass; min-p 0.5 drops 3.0 (e^-2 = 0.14 of the best).
        var minP = new Sampler(new SamplingParams(5f, 0, 1f, 0.5f, 1f, 0f, 0, 2));
        for (int i = 0; i < 300; i++) seen.add(minP.sample(l.clone(), 0, l.length));
        assertThat(seen).containsExactlyInAnyOrder(0, 1, 2);

        seen.clear();
        var topP = new Sampler(new SamplingParams(5f, 0, 0.3f, 0f, 1f, 0f, 0, 3));
        for (int i = 0; i < 300; i++) seen.add(topP.sample(l.clone(), 0, l.length));
        assertThat(seen).containsExactly(0);
    }

    @Test
    void repetitionAndPresencePenaltiesLowerRecentTokens() {
        var s = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 2f, 0f, 4, 0));
        s.accept(0);
        // 3.0 / 2 = 1.5 < 2.0: the repeated token loses.
        assertThat(s.sample(logits(3f, 2f, 1f), 0, 3)).isEqualTo(1);
        var p = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 1f, 1.5f, 4, 0));
        p.accept(0);
        assertThat(p.sample(logits(3f, 2f, 1f), 0, 3)).isEqualTo(1);
        // Only the last penaltyLastN tokens count.
        var window = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 2f, 0f, 1, 0));
        window.accept(0);
        window.accept(2);
        assertThat(window.sample(logits(3f, 2f, 1f), 0, 3)).isEqualTo(0);
    }

    @Test
    void penaltiesStayInsideTheSampledRow() {
        var s = new Sampler(new SamplingParams(0f, 0, 1f, 0f, 2f, 1f, 4, 0));
        s.accept(3); // no such token in a vocabulary of 3: it would be row 1's token 0
        float[] twoRows = logits(1f, 2f, 3f, 4f, 5f, 6f);
        assertThat(s.sample(twoRows, 0, 3)).isEqualTo(2);
        assertThat(twoRows).containsExactly(1f, 2f, 3f, 4f, 5f, 6f);
    }

    @Test
    void tabbyDefaultsAndInvalidParameters() {
        var t = SamplingParams.tabbyDefaults();
        assertThat(t.temperature()).isEqualTo(0.1f);
        assertThat(t.topK()).isEqualTo(40);
        assertThat(t.topP()).isEqualTo(0.95f);
        assertThat(t.minP()).isEqualTo(0.05f);
        assertThatThrownBy(() -> new SamplingParams(0.5f, 40, 1.5f, 0f, 1f, 0f, 64, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topP");
        assertThatThrownBy(() -> new SamplingParams(0.5f, 40, 0.9f, 0f, 0f, 0f, 64, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("repetitionPenalty");
    }
}
