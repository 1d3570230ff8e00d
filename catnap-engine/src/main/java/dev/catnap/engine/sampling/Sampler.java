package dev.catnap.engine.sampling;

import dev.catnap.engine.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks tokens from logits the way llama.cpp's default sampler chain does: repetition and presence penalties over
 * the recent tokens, then top-k, top-p, min-p, temperature and a draw from a generator seeded by the request. One
 * sampler per sequence; not thread-safe.
 */
public final class Sampler {
    private final SamplingParams p;
    private final SplittableRandom random;
    private final int[] recent;
    private int recentCount;
    private int recentNext;

    public Sampler(SamplingParams params) {
        this.p = params;
        this.random = new SplittableRandom(params.seed());
        this.recent = new int[Math.max(0, params.penaltyLastN())];
    }

    /** Records a token (prompt or generated) for the penalties. */
    public void accept(int token) {
        if (recent.length == 0) return;
        recent[recentNext] = token;
        recentNext = (recentNext + 1) % recent.length;
        recentCount = Math.min(recentCount + 1, recent.length);
    }

    /** Chooses the next token from {@code logits[offset .. offset + vocab)}; the array is modified. */
    public int sample(float[] logits, int offset, int vocab) {
        applyPenalties(logits, offset, vocab);
        if (p.isGreedy()) return argmax(logits, offset, vocab);

        int k = p.topK() > 0 ? Math.min(p.topK(), vocab) : vocab;
        int[] ids = topK(logits, offset, vocab, k);
        int count = ids.length;
        float max = logits[offset + ids[0]];

        // Top-p over the softmax of the raw (untempered) logits, as llama.cpp orders it.
        double[] probs = new double[count];
        double sum = 0;
        for (int i = 0; i < count; i++) {
            probs[i] = Math.exp(logits[offset + ids[i]] - max);
            sum += probs[i];
        }
        if (p.topP() < 1f) {
            double cumulative = 0;
            int keep = count;
            for (int i = 0; i < count; i++) {
                cumulative += probs[i] / sum;
                if (cumulative >= p.topP()) {
                    keep = i + 1;
                    break;
                }
            }
            count = keep;
        }
        if (p.minP() > 0f) {
            // probs[0] is the largest; keep those at least minP times it.
            int keep = 1;
            while (keep < count && probs[keep] >= p.minP() * probs[0]) keep++;
            count = keep;
        }
        double[] weights = new double[count];
        double total = 0;
        for (int i = 0; i < count; i++) {
            weights[i] = Math.exp((logits[offset + ids[i]] - max) / p.temperature());
            total += weights[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < count; i++) {
            r -= weights[i];
            if (r < 0) return ids[i];
        }
        return ids[count - 1];
    }

    private void applyPenalties(float[] logits, int offset, int vocab) {
        if (recentCount == 0 || (p.repetitionPenalty() == 1f && p.presencePenalty() == 0f)) return;
        int[] seen = Arrays.copyOf(recent, recentCount);
        Arrays.sort(seen);
        for (int i = 0; i < seen.length; i++) {
            if (i > 0 && seen[i] == seen[i - 1]) continue;
            // An id outside this row's vocabulary must not reach into the next row of a batch's logits.
            if (seen[i] < 0 || seen[i] >= vocab) continue;
            int id = offset + seen[i];
            float l = logits[id];
            l = l > 0 ? l / p.repetitionPenalty() : l * p.repetitionPenalty();
            logits[id] = l - p.presencePenalty();
        }
    }

    /** The largest logit; the lowest id wins ties (llama.cpp's greedy rule). */
    public static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float bestValue = logits[offset];
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > bestValue) {
                bestValue = logits[offset + i];
                best = i;
            }
        }
        return best;
    }

    /** The ids of the k largest logits, largest first, lower id first on ties. */
    static int[] topK(float[] logits, int offset, int vocab, int k) {
        // A min-heap of the best k seen so far; the root is the weakest.
        int[] heap = new int[k];
        int size = 0;
        for (int id = 0; id < vocab; id++) {
            if (size < k) {
                heap[size] = id;
                siftUp(heap, size++, logits, offset);
            } else if (better(id, heap[0], logits, offset)) {
                heap[0] = id;
                siftDown(heap, size, logits, offset);
            }
        }
        int[] out = new int[size];
        for (int i = size - 1; i >= 0; i--) {
            out[i] = heap[0];
            heap[0] = heap[--size];
            siftDown(heap, size, logits, offset);
        }
        return out;
    }

    private static boolean better(int a, int b, float[] logits, int offset) {
        float la = logits[offset + a], lb = logits[offset + b];
        return la > lb || (la == lb && a < b);
    }

    private static void siftUp(int[] heap, int i, float[] logits, int offset) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (!better(heap[parent], heap[i], logits, offset)) break;
            int tmp = heap[parent];
            heap[parent] = heap[i];
            heap[i] = tmp;
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, float[] logits, int offset) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, weakest = i;
            if (l < size && better(heap[weakest], heap[l], logits, offset)) weakest = l;
            if (r < size && better(heap[weakest], heap[r], logits, offset)) weakest = r;
            if (weakest == i) return;
            int tmp = heap[weakest];
            heap[weakest] = heap[i];
            heap[i] = tmp;
            i = weakest;
        }
    }
}
