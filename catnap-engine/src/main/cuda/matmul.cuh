// Products of a weight matrix W (rows x cols, in its GGUF encoding) with n activation rows X (n x cols, F32):
// out[t][r] = epilogue(sum_k W[r][k] * X[t][k] + bias[r]).
#pragma once
#include "common.cuh"

// Few activation rows (decode steps): memory-bound, so each warp streams its weight rows exactly once and applies
// them to all N activation rows. Lanes take consecutive groups of 8 values, so a warp reads one contiguous stretch
// of a row per iteration. With several activation rows a warp takes R weight rows, so each activation value read
// from cache serves R rows.
#define MATVEC_WARPS 4

template <int N>
struct MatvecShape {
    static const int R = N >= 4 ? 2 : 1;
    // Few activation rows leave registers for several weight loads in flight per lane; many rows need them for
    // their sums (unrolled, 16 rows would take 176 registers and starve the SM of warps).
    static const int UNROLL = N <= 2 ? 4 : 1;
};

template <int TYPE, int N>
static __device__ __forceinline__ void matvec(const u8* __restrict__ w, const float* __restrict__ x,
                                              float* __restrict__ out, const float* __restrict__ bias, int cols,
                                              int rows, int n, int mode) {
    const int R = MatvecShape<N>::R;
    if (blockDim.x != MATVEC_WARPS * 32) __trap();  // the host computes the grid from MATVEC_WARPS
    int lane = threadIdx.x & 31;
    int r0 = (blockIdx.x * MATVEC_WARPS + (threadIdx.x >> 5)) * R;
    if (r0 >= rows) return;
    long long rb = row_bytes(TYPE, cols);
    float acc[R][N];
#pragma unroll
    for (int i = 0; i < R; i++)
#pragma unroll
        for (int t = 0; t < N; t++) acc[i][t] = 0.f;
#pragma unroll(MatvecShape<N>::UNROLL)
    for (int k = lane * 8; k < cols; k += 32 * 8) {
        float v[R][8];
#pragma unroll
        for (int i = 0; i < R; i++) {
            // A missing last row decodes row r0 again; its sums are never stored.
            int r = r0 + i < rows ? r0 + i : r0;
            decode8<TYPE>(w + r * rb, k, v[i]);
        }
#pragma unroll
        for (int t = 0; t < N; t++) {
            if (t < n) {
                const float4* xp = (const float4*) (x + (long long) t * cols + k);
                float4 a = xp[0], b = xp[1];
#pragma unroll
                for (int i = 0; i < R; i++) {
                    acc[i][t] += v[i][0] * a.x + v[i][1] * a.y + v[i][2] * a.z + v[i][3] * a.w
                               + v[i][4] * b.x + v[i][5] * b.y + v[i][6] * b.z + v[i][7] * b.w;
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < R; i++) {
        int r = r0 + i;
#pragma unroll
        for (int t = 0; t < N; t++) acc[i][t] = warp_sum(acc[i][t]);
        if (r >= rows) continue;
        float b = bias != nullptr ? bias[r] : 0.f;
#pragma unroll
        for (int t = 0; t < N; t++) {
            if (t < n && lane == t) {
                float* o = out + (long long) t * rows + r;
                *o = epilogue(acc[i][t] + b, *o, mode);
            }
        }
    }
}

// Many activation rows (prompts): compute-bound, so on tensor cores. A block computes a 64x64 tile of the output
// (four warps, 32x32 each, as 2x2 WMMA fragments of 16x16x16) from 32-wide slices of W and X staged in shared memory
// as F16 (W decoded once per slice), accumulating in F32. X rounded to F16 is the precision this path gives up
// against the decode path, as llama.cpp's quantized-activation products do.
#define TC_TILE 64
#define TC_SLICE 32
#define TC_LD (TC_SLICE + 8)  // padded rows: WMMA wants a multiple of 8 halves, the padding spreads the banks
#define TC_CLD (TC_TILE + 4)

template <int TYPE>
static __device__ __forceinline__ void matmul_tensor_cores(const u8* __restrict__ w, const float* __restrict__ x,
                                                           float* __restrict__ out, const float* __restrict__ bias,
                                                           int cols, int rows, int n, int mode,
                                                           const float* __restrict__ scales) {
    // WMMA loads and stores need 32-byte aligned addresses; every fragment offset below is a multiple of 32 bytes.
    __shared__ SHARED_ALIGN half wt[TC_TILE][TC_LD];
    __shared__ SHARED_ALIGN half xt[TC_TILE][TC_LD];
    __shared__ SHARED_ALIGN float ct[TC_TILE][TC_CLD];
    if (blockDim.x != 128) __trap();  // the loader roles below assume exactly four warps
    int tid = threadIdx.x, warp = tid >> 5;
    int wy = warp >> 1, wx = warp & 1;
    int r0 = blockIdx.x * TC_TILE, t0 = blockIdx.y * TC_TILE;
    long long rb = row_bytes(TYPE, cols);
    // Loader role: one row of W and one row of X, 16 of the slice's 32 values each.
    int lr = tid >> 1, lk = (tid & 1) * 16;
    // This thread's row of X is divided by its power-of-two scale on the way to F16 (see row_scale_of).
    float x_inverse_scale = t0 + lr < n ? 1.f / scales[t0 + lr] : 1.f;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.f);

    for (int k0 = 0; k0 < cols; k0 += TC_SLICE) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int k = k0 + lk + 8 * h;
            float v[8];
            if (r0 + lr < rows) {
                decode8<TYPE>(w + (r0 + lr) * rb, k, v);
            } else {
#pragma unroll
                for (int i = 0; i < 8; i++) v[i] = 0.f;
            }
#pragma unroll
            for (int i = 0; i < 8; i++) wt[lr][lk + 8 * h + i] = __float2half_rn(v[i]);
            if (t0 + lr < n) {
                const float4* xp = (const float4*) (x + (long long) (t0 + lr) * cols + k);
                float4 a = xp[0], b = xp[1];
                v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
            } else {
#pragma unroll
                for (int i = 0; i < 8; i++) v[i] = 0.f;
            }
#pragma unroll
            for (int i = 0; i < 8; i++) xt[lr][lk + 8 * h + i] = __float2half_rn(v[i] * x_inverse_scale);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TC_SLICE; kk += 16) {
            // out[t][r] = sum_k W[r][k] X[t][k]: A is the W tile (row-major), B is X transposed, which X's rows
            // already are when read column-major.
            wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], &wt[wy * 32 + i * 16][kk], TC_LD);
#pragma unroll
            for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], &xt[wx * 32 + j * 16][kk], TC_LD);
#pragma unroll
            for (int i = 0; i < 2; i++)
#pragma unroll
                for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) {
            wmma::store_matrix_sync(&ct[wy * 32 + i * 16][wx * 32 + j * 16], acc[i][j], TC_CLD, wmma::mem_row_major);
        }
    __syncthreads();
    // Consecutive threads take consecutive weight rows of one token: coalesced writes to out[t][r].
    for (int idx = tid; idx < TC_TILE * TC_TILE; idx += blockDim.x) {
        int rl = idx % TC_TILE, tl = idx / TC_TILE;
        int r = r0 + rl, t = t0 + tl;
        if (r < rows && t < n) {
            float* o = out + (long long) t * rows + r;
            *o = epilogue(ct[rl][tl] * scales[t] + (bias != nullptr ? bias[r] : 0.f), *o, mode);
        }
    }
}

#define MATMUL_PARAMS const u8 *w, const float *x, float *out, const float *bias, int cols, int rows, int n, int mode
#define MATMUL_ARGS w, x, out, bias, cols, rows, n, mode
// The tensor-core products also take the rows' power-of-two scales (row_scale_of).
#define SCALED_MATMUL_PARAMS MATMUL_PARAMS, const float *scales
#define SCALED_MATMUL_ARGS MATMUL_ARGS, scales
