package dev.catnap.engine.cuda;

import dev.catnap.engine.model.Decoder;
import dev.catnap.engine.model.SequenceCache;
import java.util.Arrays;

/**
 * Runs the same rows through two decoders (the CPU reference and a CUDA one) and measures how far their logits
 * differ. Used against the emulator here and against a real GPU where there is one.
 */
final class DecoderAgreement {
    private DecoderAgreement() {}

    /** Deterministic token ids spread over the first {@code limit} ids of the vocabulary. */
    static int[] tokens(int count, int seed, int limit) {
        int[] t = new int[count];
        for (int i = 0; i < count; i++) t[i] = Math.floorMod(seed * 31 + i * 7919 + 13, limit);
        return t;
    }

    /**
     * One sequence's whole prompt in one step with every other row's logits wanted: the multi-row (tiled) products
     * and attention over many rows of the same sequence. Returns the largest absolute logit difference.
     */
    static float prefill(Decoder reference, Decoder device, int[] prompt) {
        int n = prompt.length, vocab = reference.config().vocabSize();
        int[] positions = new int[n], rows = new int[n / 2];
        for (int t = 0; t < n; t++) positions[t] = t;
        for (int i = 0; i < rows.length; i++) rows[i] = 2 * i + 1;
        float[] a = new float[rows.length * vocab], b = new float[rows.length * vocab];
        try (SequenceCache ca = reference.newCache(n);
                SequenceCache cb = device.newCache(n)) {
            SequenceCache[] fa = new SequenceCache[n], fb = new SequenceCache[n];
            Arrays.fill(fa, ca);
            Arrays.fill(fb, cb);
            reference.forward(prompt, positions, fa, rows, a);
            device.forward(prompt, positions, fb, rows, b);
        }
        return maxDiff(a, b);
    }

    /**
     * {@code sequences} sequences with prompts of different lengths, each read in one step, then {@code steps}
     * decode steps with one row per sequence, feeding both decoders the reference's greedy tokens. Returns the
     * largest absolute logit difference over all decode steps.
     */
    static float decode(Decoder reference, Decoder device, int sequences, int promptLength, int steps) {
        int vocab = reference.config().vocabSize();
        int capacity = promptLength + sequences + steps;
        SequenceCache[] ca = new SequenceCache[sequences], cb = new SequenceCache[sequences];
        int[] next = new int[sequences], position = new int[sequences];
        float worst = 0;
        try {
            for (int s = 0; s < sequences; s++) {
                ca[s] = reference.newCache(capacity);
                cb[s] = device.newCache(capacity);
                int[] prompt = tokens(promptLength + s, s, Math.min(vocab, 5000));
                int n = prompt.length;
                int[] positions = new int[n];
                for (int t = 0; t < n; t++) positions[t] = t;
                float[] a = new float[vocab], b = new float[vocab];
                reference.forward(prompt, positions, filled(ca[s], n), new int[] {n - 1}, a);
                device.forward(prompt, positions, filled(cb[s], n), new int[] {n - 1}, b);
                worst = Math.max(worst, maxDiff(a, b));
                next[s] = argmax(a, 0, vocab);
                position[s] = n;
            }
            int[] rows = new int[sequences];
            for (int s = 0; s < sequences; s++) rows[s] = s;
            float[] a = new float[sequences * vocab], b = new float[sequences * vocab];
            for (int step = 0; step < steps; step++) {
                reference.forward(next.clone(), position.clone(), ca, rows, a);
                device.forward(next.clone(), position.clone(), cb, rows, b);
                worst = Math.max(worst, maxDiff(a, b));
                for (int s = 0; s < sequences; s++) {
                    next[s] = argmax(a, s * vocab, vocab);
                    position[s]++;
                }
            }
        } finally {
            for (int s = 0; s < sequences; s++) {
                if (ca[s] != null) ca[s].close();
                if (cb[s] != null) cb[s].close();
            }
        }
        return worst;
    }

    /** Greedy continuation of {@code prompt} by one decoder alone. */
    static int[] greedy(Decoder decoder, int[] prompt, int steps) {
        int vocab = decoder.config().vocabSize(), n = prompt.length;
        int[] out = new int[steps];
        float[] logits = new float[vocab];
        try (SequenceCache cache = decoder.newCache(n + steps)) {
            int[] positions = new int[n];
            for (int t = 0; t < n; t++) positions[t] = t;
            decoder.forward(prompt, positions, filled(cache, n), new int[] {n - 1}, logits);
            for (int s = 0; s < steps; s++) {
                out[s] = argmax(logits, 0, vocab);
                if (s + 1 < steps) {
                    decoder.forward(
                            new int[] {out[s]}, new int[] {n + s}, new SequenceCache[] {cache}, new int[] {0}, logits);
                }
            }
        }
        return out;
    }

    static float maxDiff(float[] a, float[] b) {
        float worst = 0;
        for (int i = 0; i < a.length; i++) {
            float d = Math.abs(a[i] - b[i]);
            if (!(d <= worst)) worst = Float.isNaN(d) ? Float.POSITIVE_INFINITY : d;
        }
        return worst;
    }

    private static SequenceCache[] filled(SequenceCache cache, int n) {
        SequenceCache[] caches = new SequenceCache[n];
        Arrays.fill(caches, cache);
        return caches;
    }

    private static int argmax(float[] logits, int from, int count) {
        int best = 0;
        for (int i = 1; i < count; i++) if (logits[from + i] > logits[from + best]) best = i;
        return best;
    }
}
