// Products of a weight matrix W (rows x cols, in its GGUF encoding) with n activation rows X (n x cols, F32):
// out[t][r] = epilogue(sum_k W[r][k] * X[t][k] + bias[r]).
#pragma once
#include "common.cuh"

// Few activation rows (decode steps): memory-bound, so each warp streams one weight row exactly once and applies it
// to all N activation rows held in registers. Lanes take consecutive groups of 8 values, so a warp reads one
// contiguous stretch of the row per iteration.
#define MATVEC_WARPS 4

template <int TYPE, int N>
static __device__ __forceinline__ void matvec(const u8* __restrict__ w, const float* __restrict__ x,
                                              float* __restrict__ out, const float* __restrict__ bias, int cols,
                                              int rows, int n, int mode) {
    int lane = threadIdx.x & 31;
    int r = blockIdx.x * MATVEC_WARPS + (threadIdx.x >> 5);
    if (r >= rows) return;
    const u8* row = w + (long long) r * row_bytes(TYPE, cols);
    float acc[N];
#pragma unroll
    for (int t = 0; t < N; t++) acc[t] = 0.f;
    for (int k = lane * 8; k < cols; k += 32 * 8) {
        float v[8];
        decode8<TYPE>(row, k, v);
#pragma unroll
        for (int t = 0; t < N; t++) {
            if (t < n) {
                const float4* xp = (const float4*) (x + (long long) t * cols + k);
                float4 a = xp[0], b = xp[1];
                acc[t] += v[0] * a.x + v[1] * a.y + v[2] * a.z + v[3] * a.w
                        + v[4] * b.x + v[5] * b.y + v[6] * b.z + v[7] * b.w;
            }
        }
    }
#pragma unroll
    for (int t = 0; t < N; t++) acc[t] = warp_sum(acc[t]);
    float b = bias != nullptr ? bias[r] : 0.f;
#pragma unroll
    for (int t = 0; t < N; t++) {
        if (t < n && lane == t) {
            float* o = out + (long long) t * rows + r;
            *o = epilogue(acc[t] + b, *o, mode);
        }
    }
}

// Many activation rows (prompts): compute-bound, so 64x64 output tiles are built from 32-wide slices of W and X
// staged in shared memory (W decoded once per slice), each thread accumulating a 4x4 block in registers.
#define TILE 64
#define SLICE 32

template <int TYPE>
static __device__ __forceinline__ void matmul_tiled(const u8* __restrict__ w, const float* __restrict__ x,
                                                    float* __restrict__ out, const float* __restrict__ bias, int cols,
                                                    int rows, int n, int mode) {
    // k-major so that the inner loop reads four consecutive rows (or tokens) as one float4.
    __shared__ __align__(16) float ws[SLICE][TILE + 4];
    __shared__ __align__(16) float xs[SLICE][TILE + 4];
    int tid = threadIdx.x;
    int ty = tid >> 4, tx = tid & 15;
    int r0 = blockIdx.x * TILE, t0 = blockIdx.y * TILE;
    long long rb = row_bytes(TYPE, cols);
    // Loader role: one row (or token) and one group of 8 values of the slice.
    int lr = tid >> 2, lk = (tid & 3) * 8;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;

    for (int k0 = 0; k0 < cols; k0 += SLICE) {
        float v[8];
        if (r0 + lr < rows) {
            decode8<TYPE>(w + (long long) (r0 + lr) * rb, k0 + lk, v);
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) v[i] = 0.f;
        }
#pragma unroll
        for (int i = 0; i < 8; i++) ws[lk + i][lr] = v[i];
        if (t0 + lr < n) {
            const float4* xp = (const float4*) (x + (long long) (t0 + lr) * cols + k0 + lk);
            float4 a = xp[0], b = xp[1];
            v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
        } else {
#pragma unroll
            for (int i = 0; i < 8; i++) v[i] = 0.f;
        }
#pragma unroll
        for (int i = 0; i < 8; i++) xs[lk + i][lr] = v[i];
        __syncthreads();
#pragma unroll 8
        for (int k = 0; k < SLICE; k++) {
            float4 a = *(const float4*) &ws[k][ty * 4];
            float4 b = *(const float4*) &xs[k][tx * 4];
            float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        int r = r0 + ty * 4 + i;
        if (r >= rows) continue;
        float b = bias != nullptr ? bias[r] : 0.f;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int t = t0 + tx * 4 + j;
            if (t < n) {
                float* o = out + (long long) t * rows + r;
                *o = epilogue(acc[i][j] + b, *o, mode);
            }
        }
    }
}

#define MATMUL_PARAMS const u8 *w, const float *x, float *out, const float *bias, int cols, int rows, int n, int mode
#define MATMUL_ARGS w, x, out, bias, cols, rows, n, mode
