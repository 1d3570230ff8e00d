package dev.catnap.engine.cpu;

import dev.catnap.engine.gguf.GGMLType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Products for the rows of prompts: weights widened to floats row by row, activations transposed so that one vector
 * holds one column of {@link #TOKENS} tokens, and tiles of 4 rows x {@link #TOKENS} tokens in which each weight is
 * broadcast and multiplied into the tokens' vector. This is how BLAS kernels keep the FMA units busy: per column, four
 * vector loads and four broadcasts feed sixteen FMAs, and no accumulator needs its lanes added at the end. In a
 * harness it ran at 150-180 GFLOP/s per core where the four-by-four dot-product tiles it replaces ran at 110-120
 * (a plain FMA loop: 180-195).
 *
 * <p>Each output is the same sum in every tile: per block of {@link #BLOCK} columns, a chain of FMAs in column order
 * from zero, which is then added to the running sum; for Q8_0 and Q4_0 weights with rounded activations the block's
 * integers are multiplied (an exact sum, as ggml's integer dot products give) and the running sum takes it times
 * {@code d_weight * d_activation}, the decoding kernels' step. A lane computes this the same way in any tile, and
 * tokens past the end of a prompt are zero lanes whose results are dropped, so a prompt row's result depends only on
 * its weights and its own activations, never on the rest of the batch. Decoding rows (single tokens of their
 * sequences) take the other kernels, which sum in other orders; the two agree to float rounding. One chain over a
 * whole row instead of per block drifted the tiny trained model's logits 0.41 from llama.cpp's, against 0.14.
 */
final class PromptTiles {
    private static final VectorSpecies<Float> F = MatMul.F;
    private static final int L = F.length();
    /** Tokens in a full tile: four vectors. */
    static final int TOKENS = 4 * L;
    /**
     * Rows widened at once. Each row block reads all of the transposed activations (1 MiB for 128 tokens of 2048
     * columns) from the shared L3 cache; blocks of 64 rows instead of 16 cut that traffic by four and made prompts
     * about 10% faster on two threads.
     */
    static final int ROWS = 64;
    /** Columns summed from zero before their sum meets the running one: a Q8_0 or Q4_0 block. */
    static final int BLOCK = 32;
    /** The first of the per-thread scratch arrays this uses (the one-token kernels use those before it). */
    static final int FIRST_SCRATCH = 7;
    /** The per-thread scratch arrays this uses: the widened rows, the running sums, the rows' block scales. */
    static final int SCRATCH = ROWS + 2;

    /**
     * Floats that this class's scratch array {@code index} (from 0, counted from {@link #FIRST_SCRATCH}) needs for
     * rows of {@code cols}: a widened row, then the running sums, then the rows' block scales.
     */
    static int scratchFloats(int index, int cols) {
        if (index < ROWS) return cols;
        return index == ROWS ? ROWS * TOKENS : ROWS * columnBlocks(cols);
    }

    /**
     * Blocks per pass over a row block: a pass's slices of the transposed activations (64 columns x {@link #TOKENS}
     * tokens, 16 KiB with 512-bit vectors) and of the widened rows (16 KiB) stay in L1 while the block's tiles use
     * them.
     */
    private static final int PASS = 2;

    private PromptTiles() {}

    /**
     * The {@code count} prompt rows from token {@code t0} of one product, transposed: {@code x} their values (or,
     * with {@code scales}, their Q8_0 integers), column k of token {@code t0 + b * TOKENS + j} at {@code (b * cols
     * + k) * TOKENS + j}; {@code scales} (or null) the integers' block scales, block c of that token at {@code (b *
     * blocks + c) * TOKENS + j}. Tokens past the last are zeros.
     */
    record Transposed(float[] x, float[] scales, int t0, int count) {}

    /** Floats of a transposed {@code x} for {@code count} tokens of {@code cols}. */
    static int size(int count, int cols) {
        return tokenBlocks(count) * TOKENS * cols;
    }

    /** Floats of the transposed block scales for {@code count} tokens of {@code cols}. */
    static int scalesSize(int count, int cols) {
        return tokenBlocks(count) * columnBlocks(cols) * TOKENS;
    }

    static int tokenBlocks(int count) {
        return (count + TOKENS - 1) / TOKENS;
    }

    static int columnBlocks(int cols) {
        return (cols + BLOCK - 1) / BLOCK;
    }

    /**
     * Columns [from, to) of token block {@code b} of tokens [t0, n) of {@code x} (rows of {@code cols}) into {@code
     * xt}, as {@link Transposed} lays them out.
     */
    static void transpose(float[] x, int t0, int n, int cols, int b, int from, int to, float[] xt) {
        int base = b * cols * TOKENS;
        int first = t0 + b * TOKENS, count = Math.min(TOKENS, n - first);
        // 64 columns at a time, so that the lines written for one token are still in L1 for the next.
        for (int k0 = from; k0 < to; k0 += 64) {
            int k1 = Math.min(to, k0 + 64);
            for (int j = 0; j < count; j++) {
                int row = (first + j) * cols;
                for (int k = k0; k < k1; k++) xt[base + k * TOKENS + j] = x[row + k];
            }
            for (int j = count; j < TOKENS; j++) {
                for (int k = k0; k < k1; k++) xt[base + k * TOKENS + j] = 0f;
            }
        }
    }

    /** {@link #transpose} of Q8_0 integers, and of their block scales {@code d} if {@code from} is 0. */
    static void transpose(
            short[] q, float[] d, int t0, int n, int cols, int b, int from, int to, float[] xt, float[] scales) {
        int base = b * cols * TOKENS;
        int first = t0 + b * TOKENS, count = Math.min(TOKENS, n - first);
        for (int k0 = from; k0 < to; k0 += 64) {
            int k1 = Math.min(to, k0 + 64);
            for (int j = 0; j < count; j++) {
                int row = (first + j) * cols;
                for (int k = k0; k < k1; k++) xt[base + k * TOKENS + j] = q[row + k];
            }
            for (int j = count; j < TOKENS; j++) {
                for (int k = k0; k < k1; k++) xt[base + k * TOKENS + j] = 0f;
            }
        }
        if (from != 0) return;
        int blocks = cols / BLOCK, sb = b * blocks * TOKENS;
        for (int j = 0; j < TOKENS; j++) {
            for (int c = 0; c < blocks; c++) scales[sb + c * TOKENS + j] = j < count ? d[(first + j) * blocks + c] : 0f;
        }
    }

    /**
     * out[t * stride + r] for r in [r0, r1) of {@code w} ({@code type}, in {@code layout}) and the tokens of {@code
     * x}. {@code scratch}: the calling thread's own arrays, {@link #SCRATCH} of them from {@link
     * #FIRST_SCRATCH}, each of at least {@link #scratchFloats} floats.
     */
    static void rows(
            GGMLType type,
            MemorySegment w,
            int cols,
            RowGroups.Layout layout,
            int r0,
            int r1,
            Transposed x,
            float[] out,
            int stride,
            float[][] scratch) {
        int u = FIRST_SCRATCH;
        float[] acc = scratch[u + ROWS];
        boolean integers = x.scales() != null;
        float[] dw = integers ? scratch[u + ROWS + 1] : null;
        int blocks = columnBlocks(cols);
        for (int r = r0; r < r1; r += ROWS) {
            int rowCount = Math.min(ROWS, r1 - r);
            if (integers) QuantizedDot.widenIntegers(type, w, cols, layout, r, rowCount, scratch, u, dw);
            else MatMul.widenRows(type, w, cols, layout, r, rowCount, scratch, u);
            for (int b = 0, tokenBlocks = tokenBlocks(x.count()); b < tokenBlocks; b++) {
                int first = b * TOKENS, tokens = Math.min(TOKENS, x.count() - first);
                // a last block of at most one vector of tokens takes the one-vector tile
                boolean narrow = tokens <= L;
                Arrays.fill(acc, 0, rowCount * TOKENS, 0f);
                int xb = b * cols * TOKENS, sb = b * blocks * TOKENS;
                for (int c0 = 0; c0 < blocks; c0 += PASS) {
                    int c1 = Math.min(blocks, c0 + PASS);
                    int i = 0;
                    if (narrow) {
                        for (; i + 8 <= rowCount; i += 8)
                            tile8x1(scratch, u + i, dw, blocks, c0, c1, cols, x, xb, sb, acc, i);
                    } else {
                        for (; i + 4 <= rowCount; i += 4) {
                            float[] u0 = scratch[u + i], u1 = scratch[u + i + 1];
                            float[] u2 = scratch[u + i + 2], u3 = scratch[u + i + 3];
                            tile4x4(u0, u1, u2, u3, dw, blocks, c0, c1, cols, x, xb, sb, acc, i);
                        }
                    }
                    for (; i < rowCount; i++) {
                        single(scratch[u + i], dw, blocks, c0, c1, cols, x, xb, sb, narrow ? L : TOKENS, acc, i);
                    }
                }
                // token by token, so that each token's run of outputs is written at once
                for (int j = 0; j < tokens; j++) {
                    int o = (x.t0() + first + j) * stride + r;
                    for (int i = 0; i < rowCount; i++) out[o + i] = acc[i * TOKENS + j];
                }
            }
        }
    }

    /**
     * Rows i..i+3 of the row block (widened in w0..w3; with integers, row m's block scales at {@code dw[m *
     * blocks]}) against the {@link #TOKENS} tokens of the token block at {@code xb} ({@code sb} for its scales),
     * column blocks [c0, c1): into the running sums of row m, {@code acc[m * TOKENS ..]}.
     */
    private static void tile4x4(
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] dw,
            int blocks,
            int c0,
            int c1,
            int cols,
            Transposed x,
            int xb,
            int sb,
            float[] acc,
            int i) {
        float[] xt = x.x();
        int o0 = i * TOKENS, o1 = o0 + TOKENS, o2 = o1 + TOKENS, o3 = o2 + TOKENS;
        for (int c = c0; c < c1; c++) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
            FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            for (int k = c * BLOCK, end = Math.min(cols, k + BLOCK); k < end; k++) {
                int o = xb + k * TOKENS;
                FloatVector x0 = FloatVector.fromArray(F, xt, o), x1 = FloatVector.fromArray(F, xt, o + L);
                FloatVector x2 = FloatVector.fromArray(F, xt, o + 2 * L), x3 = FloatVector.fromArray(F, xt, o + 3 * L);
                FloatVector v = FloatVector.broadcast(F, w0[k]);
                a00 = x0.fma(v, a00);
                a01 = x1.fma(v, a01);
                a02 = x2.fma(v, a02);
                a03 = x3.fma(v, a03);
                v = FloatVector.broadcast(F, w1[k]);
                a10 = x0.fma(v, a10);
                a11 = x1.fma(v, a11);
                a12 = x2.fma(v, a12);
                a13 = x3.fma(v, a13);
                v = FloatVector.broadcast(F, w2[k]);
                a20 = x0.fma(v, a20);
                a21 = x1.fma(v, a21);
                a22 = x2.fma(v, a22);
                a23 = x3.fma(v, a23);
                v = FloatVector.broadcast(F, w3[k]);
                a30 = x0.fma(v, a30);
                a31 = x1.fma(v, a31);
                a32 = x2.fma(v, a32);
                a33 = x3.fma(v, a33);
            }
            if (dw == null) {
                FloatVector.fromArray(F, acc, o0).add(a00).intoArray(acc, o0);
                FloatVector.fromArray(F, acc, o0 + L).add(a01).intoArray(acc, o0 + L);
                FloatVector.fromArray(F, acc, o0 + 2 * L).add(a02).intoArray(acc, o0 + 2 * L);
                FloatVector.fromArray(F, acc, o0 + 3 * L).add(a03).intoArray(acc, o0 + 3 * L);
                FloatVector.fromArray(F, acc, o1).add(a10).intoArray(acc, o1);
                FloatVector.fromArray(F, acc, o1 + L).add(a11).intoArray(acc, o1 + L);
                FloatVector.fromArray(F, acc, o1 + 2 * L).add(a12).intoArray(acc, o1 + 2 * L);
                FloatVector.fromArray(F, acc, o1 + 3 * L).add(a13).intoArray(acc, o1 + 3 * L);
                FloatVector.fromArray(F, acc, o2).add(a20).intoArray(acc, o2);
                FloatVector.fromArray(F, acc, o2 + L).add(a21).intoArray(acc, o2 + L);
                FloatVector.fromArray(F, acc, o2 + 2 * L).add(a22).intoArray(acc, o2 + 2 * L);
                FloatVector.fromArray(F, acc, o2 + 3 * L).add(a23).intoArray(acc, o2 + 3 * L);
                FloatVector.fromArray(F, acc, o3).add(a30).intoArray(acc, o3);
                FloatVector.fromArray(F, acc, o3 + L).add(a31).intoArray(acc, o3 + L);
                FloatVector.fromArray(F, acc, o3 + 2 * L).add(a32).intoArray(acc, o3 + 2 * L);
                FloatVector.fromArray(F, acc, o3 + 3 * L).add(a33).intoArray(acc, o3 + 3 * L);
            } else {
                float[] xs = x.scales();
                int s = sb + c * TOKENS;
                FloatVector s0 = FloatVector.fromArray(F, xs, s), s1 = FloatVector.fromArray(F, xs, s + L);
                FloatVector s2 = FloatVector.fromArray(F, xs, s + 2 * L), s3 = FloatVector.fromArray(F, xs, s + 3 * L);
                int d = i * blocks + c;
                float d0 = dw[d];
                a00.fma(s0.mul(d0), FloatVector.fromArray(F, acc, o0)).intoArray(acc, o0);
                a01.fma(s1.mul(d0), FloatVector.fromArray(F, acc, o0 + L)).intoArray(acc, o0 + L);
                a02.fma(s2.mul(d0), FloatVector.fromArray(F, acc, o0 + 2 * L)).intoArray(acc, o0 + 2 * L);
                a03.fma(s3.mul(d0), FloatVector.fromArray(F, acc, o0 + 3 * L)).intoArray(acc, o0 + 3 * L);
                float d1 = dw[d + blocks];
                a10.fma(s0.mul(d1), FloatVector.fromArray(F, acc, o1)).intoArray(acc, o1);
                a11.fma(s1.mul(d1), FloatVector.fromArray(F, acc, o1 + L)).intoArray(acc, o1 + L);
                a12.fma(s2.mul(d1), FloatVector.fromArray(F, acc, o1 + 2 * L)).intoArray(acc, o1 + 2 * L);
                a13.fma(s3.mul(d1), FloatVector.fromArray(F, acc, o1 + 3 * L)).intoArray(acc, o1 + 3 * L);
                float d2 = dw[d + 2 * blocks];
                a20.fma(s0.mul(d2), FloatVector.fromArray(F, acc, o2)).intoArray(acc, o2);
                a21.fma(s1.mul(d2), FloatVector.fromArray(F, acc, o2 + L)).intoArray(acc, o2 + L);
                a22.fma(s2.mul(d2), FloatVector.fromArray(F, acc, o2 + 2 * L)).intoArray(acc, o2 + 2 * L);
                a23.fma(s3.mul(d2), FloatVector.fromArray(F, acc, o2 + 3 * L)).intoArray(acc, o2 + 3 * L);
                float d3 = dw[d + 3 * blocks];
                a30.fma(s0.mul(d3), FloatVector.fromArray(F, acc, o3)).intoArray(acc, o3);
                a31.fma(s1.mul(d3), FloatVector.fromArray(F, acc, o3 + L)).intoArray(acc, o3 + L);
                a32.fma(s2.mul(d3), FloatVector.fromArray(F, acc, o3 + 2 * L)).intoArray(acc, o3 + 2 * L);
                a33.fma(s3.mul(d3), FloatVector.fromArray(F, acc, o3 + 3 * L)).intoArray(acc, o3 + 3 * L);
            }
        }
    }

    /**
     * {@link #tile4x4} for rows i..i+7 (widened in {@code rows[w0 ..]}) and a last token block of at most one vector
     * of tokens (a quarter of the padding): eight chains of FMAs, as many as the two FMA units keep in flight; four
     * rows left a one-vector block of 8 tokens 1.6 times slower ({@code MatMulBenchmark}, F16, 8 tokens).
     */
    private static void tile8x1(
            float[][] rows,
            int w0,
            float[] dw,
            int blocks,
            int c0,
            int c1,
            int cols,
            Transposed x,
            int xb,
            int sb,
            float[] acc,
            int i) {
        float[] xt = x.x();
        float[] u0 = rows[w0 + 0];
        float[] u1 = rows[w0 + 1];
        float[] u2 = rows[w0 + 2];
        float[] u3 = rows[w0 + 3];
        float[] u4 = rows[w0 + 4];
        float[] u5 = rows[w0 + 5];
        float[] u6 = rows[w0 + 6];
        float[] u7 = rows[w0 + 7];
        int o = i * TOKENS;
        for (int c = c0; c < c1; c++) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int k = c * BLOCK, end = Math.min(cols, k + BLOCK); k < end; k++) {
                FloatVector v = FloatVector.fromArray(F, xt, xb + k * TOKENS);
                a0 = v.fma(FloatVector.broadcast(F, u0[k]), a0);
                a1 = v.fma(FloatVector.broadcast(F, u1[k]), a1);
                a2 = v.fma(FloatVector.broadcast(F, u2[k]), a2);
                a3 = v.fma(FloatVector.broadcast(F, u3[k]), a3);
                a4 = v.fma(FloatVector.broadcast(F, u4[k]), a4);
                a5 = v.fma(FloatVector.broadcast(F, u5[k]), a5);
                a6 = v.fma(FloatVector.broadcast(F, u6[k]), a6);
                a7 = v.fma(FloatVector.broadcast(F, u7[k]), a7);
            }
            if (dw == null) {
                FloatVector.fromArray(F, acc, o).add(a0).intoArray(acc, o);
                FloatVector.fromArray(F, acc, o + 1 * TOKENS).add(a1).intoArray(acc, o + 1 * TOKENS);
                FloatVector.fromArray(F, acc, o + 2 * TOKENS).add(a2).intoArray(acc, o + 2 * TOKENS);
                FloatVector.fromArray(F, acc, o + 3 * TOKENS).add(a3).intoArray(acc, o + 3 * TOKENS);
                FloatVector.fromArray(F, acc, o + 4 * TOKENS).add(a4).intoArray(acc, o + 4 * TOKENS);
                FloatVector.fromArray(F, acc, o + 5 * TOKENS).add(a5).intoArray(acc, o + 5 * TOKENS);
                FloatVector.fromArray(F, acc, o + 6 * TOKENS).add(a6).intoArray(acc, o + 6 * TOKENS);
                FloatVector.fromArray(F, acc, o + 7 * TOKENS).add(a7).intoArray(acc, o + 7 * TOKENS);
            } else {
                FloatVector s = FloatVector.fromArray(F, x.scales(), sb + c * TOKENS);
                int d = i * blocks + c;
                a0.fma(s.mul(dw[d]), FloatVector.fromArray(F, acc, o)).intoArray(acc, o);
                a1.fma(s.mul(dw[d + 1 * blocks]), FloatVector.fromArray(F, acc, o + 1 * TOKENS))
                        .intoArray(acc, o + 1 * TOKENS);
                a2.fma(s.mul(dw[d + 2 * blocks]), FloatVector.fromArray(F, acc, o + 2 * TOKENS))
                        .intoArray(acc, o + 2 * TOKENS);
                a3.fma(s.mul(dw[d + 3 * blocks]), FloatVector.fromArray(F, acc, o + 3 * TOKENS))
                        .intoArray(acc, o + 3 * TOKENS);
                a4.fma(s.mul(dw[d + 4 * blocks]), FloatVector.fromArray(F, acc, o + 4 * TOKENS))
                        .intoArray(acc, o + 4 * TOKENS);
                a5.fma(s.mul(dw[d + 5 * blocks]), FloatVector.fromArray(F, acc, o + 5 * TOKENS))
                        .intoArray(acc, o + 5 * TOKENS);
                a6.fma(s.mul(dw[d + 6 * blocks]), FloatVector.fromArray(F, acc, o + 6 * TOKENS))
                        .intoArray(acc, o + 6 * TOKENS);
                a7.fma(s.mul(dw[d + 7 * blocks]), FloatVector.fromArray(F, acc, o + 7 * TOKENS))
                        .intoArray(acc, o + 7 * TOKENS);
            }
        }
    }

    /** Row i alone (the rows past the last four of a range), over the first {@code width} tokens of the block. */
    private static void single(
            float[] w,
            float[] dw,
            int blocks,
            int c0,
            int c1,
            int cols,
            Transposed x,
            int xb,
            int sb,
            int width,
            float[] acc,
            int i) {
        float[] xt = x.x();
        int o = i * TOKENS;
        for (int c = c0; c < c1; c++) {
            for (int j = 0; j < width; j += L) {
                FloatVector a = FloatVector.zero(F);
                for (int k = c * BLOCK, end = Math.min(cols, k + BLOCK); k < end; k++) {
                    a = FloatVector.fromArray(F, xt, xb + k * TOKENS + j).fma(FloatVector.broadcast(F, w[k]), a);
                }
                if (dw == null) {
                    FloatVector.fromArray(F, acc, o + j).add(a).intoArray(acc, o + j);
                } else {
                    FloatVector s = FloatVector.fromArray(F, x.scales(), sb + c * TOKENS + j);
                    a.fma(s.mul(dw[i * blocks + c]), FloatVector.fromArray(F, acc, o + j))
                            .intoArray(acc, o + j);
                }
            }
        }
    }
}
