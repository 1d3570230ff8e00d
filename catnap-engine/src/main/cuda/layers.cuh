// The per-row and per-head steps of a transformer layer. A sequence's KV cache is one device allocation laid out as
// [layer][keys, values][capacity][kv_width] F32; each batch row names its sequence's cache by base address.
#pragma once
#include "common.cuh"

#define EMBED_PARAMS const u8 *table, int cols, const int *ids, float *out, int accumulate
#define EMBED_ARGS table, cols, ids, out, accumulate

// Grid: one block per row.
template <int TYPE>
static __device__ __forceinline__ void embed_row(EMBED_PARAMS) {
    int t = blockIdx.x;
    const u8* row = table + (long long) ids[t] * row_bytes(TYPE, cols);
    float* o = out + (long long) t * cols;
    for (int k = threadIdx.x * 8; k < cols; k += blockDim.x * 8) {
        float v[8];
        decode8<TYPE>(row, k, v);
#pragma unroll
        for (int i = 0; i < 8; i++) o[k + i] = accumulate ? o[k + i] + v[i] : v[i];
    }
}

// Grid: one block per output row; row t normalises input row row_index[t] (or t when row_index is null), so the
// final norm also gathers the rows whose logits are wanted.
static __device__ __forceinline__ void layer_norm_row(const float* __restrict__ x, const int* __restrict__ row_index,
                                                      float* __restrict__ out, const float* __restrict__ weight,
                                                      const float* __restrict__ bias, int dim, float eps) {
    __shared__ float scratch[32];
    int t = blockIdx.x;
    const float* in = x + (long long) (row_index != nullptr ? row_index[t] : t) * dim;
    float* o = out + (long long) t * dim;
    float s = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) s += in[i];
    float mean = block_sum(s, scratch) / dim;
    float sq = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float d = in[i] - mean;
        sq += d * d;
    }
    float scale = 1.0f / sqrtf(block_sum(sq, scratch) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        o[i] = (in[i] - mean) * scale * weight[i] + (bias != nullptr ? bias[i] : 0.f);
    }
}

static __device__ __forceinline__ void rms_norm_row(const float* __restrict__ x, const int* __restrict__ row_index,
                                                    float* __restrict__ out, const float* __restrict__ weight, int dim,
                                                    float eps) {
    __shared__ float scratch[32];
    int t = blockIdx.x;
    const float* in = x + (long long) (row_index != nullptr ? row_index[t] : t) * dim;
    float* o = out + (long long) t * dim;
    float sq = 0.f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sq += in[i] * in[i];
    float scale = 1.0f / sqrtf(block_sum(sq, scratch) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = in[i] * scale * weight[i];
}

// Grid: (rows, heads); one thread per rotated pair. The angle advances by repeated F32 multiplication, as ggml and
// the CPU backend do, so positions far into the context get the same angles on both.
static __device__ __forceinline__ void rope_head(float* x, int width, int heads, int head_dim,
                                                 const int* __restrict__ positions, float theta_scale, int neox) {
    int t = blockIdx.x, h = blockIdx.y, i = threadIdx.x, half = head_dim / 2;
    if (i >= half) return;
    float theta = (float) positions[t];
    for (int j = 0; j < i; j++) theta *= theta_scale;
    float c = (float) cos((double) theta), s = (float) sin((double) theta);
    float* head = x + (long long) t * width + h * head_dim;
    int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    float x0 = head[a], x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
}

static __device__ __forceinline__ float* cache_keys(const u64* caches, const int* capacities, int t, int layer,
                                                    int kv_width) {
    return (float*) caches[t] + (long long) layer * 2 * capacities[t] * kv_width;
}

// Grid: one block per row: the row's key and value go to its sequence's cache at its position.
static __device__ __forceinline__ void kv_store_row(const float* __restrict__ k, int k_stride,
                                                    const float* __restrict__ v, int v_stride,
                                                    const u64* __restrict__ caches, const int* __restrict__ capacities,
                                                    const int* __restrict__ positions, int layer, int kv_width) {
    int t = blockIdx.x;
    float* keys = cache_keys(caches, capacities, t, layer, kv_width);
    float* values = keys + (long long) capacities[t] * kv_width;
    long long at = (long long) positions[t] * kv_width;
    for (int i = threadIdx.x; i < kv_width; i += blockDim.x) {
        keys[at + i] = k[(long long) t * k_stride + i];
        values[at + i] = v[(long long) t * v_stride + i];
    }
}

// Attention in two kernels (split-K, "flash decoding"): a decode step has few rows, so one block per (row, head)
// would leave most of the GPU idle on long contexts. attention_part: grid (rows, heads, ATTENTION_SPLITS); block
// (t, h, s) takes the s-th of ATTENTION_SPLITS equal stretches of the row's keys 0..positions[t] (the same step's
// kv_store has already written them). Its ATTENTION_WARPS warps walk every ATTENTION_WARPS-th key of the stretch
// with an online softmax (running max, running sum, running weighted values: one pass over the cache), lanes
// splitting the head's dimensions, and the warps' results are merged. attention_merge: grid (rows, heads) merges
// the stretches. A partial result is (max, sum, unnormalised values[head_dim]).
#define ATTENTION_WARPS 8
#define ATTENTION_SPLITS 8
#define MAX_HEAD_DIM 256

static __device__ __forceinline__ void attention_part_head(const float* __restrict__ q, int q_stride,
                                                      const u64* __restrict__ caches,
                                                      const int* __restrict__ capacities,
                                                      const int* __restrict__ positions, int layer, int heads,
                                                      int kv_heads, int head_dim, float scale,
                                                      float* __restrict__ partials) {
    __shared__ float part_max[ATTENTION_WARPS];
    __shared__ float part_sum[ATTENTION_WARPS];
    __shared__ float part_acc[ATTENTION_WARPS][MAX_HEAD_DIM];
    const int per_lane = MAX_HEAD_DIM / 32;
    if (blockDim.x != ATTENTION_WARPS * 32) __trap();  // the warp count is part of the algorithm
    int t = blockIdx.x, h = blockIdx.y, split = blockIdx.z;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int kv_width = kv_heads * head_dim;
    int length = positions[t] + 1;
    int stretch = (length + ATTENTION_SPLITS - 1) / ATTENTION_SPLITS;
    int first = split * stretch, end = min(length, first + stretch);
    const float* keys = cache_keys(caches, capacities, t, layer, kv_width) + (h / (heads / kv_heads)) * head_dim;
    const float* values = keys + (long long) capacities[t] * kv_width;
    const float* qh = q + (long long) t * q_stride + h * head_dim;

    float qv[per_lane], acc[per_lane];
#pragma unroll
    for (int i = 0; i < per_lane; i++) {
        int d = lane + 32 * i;
        qv[i] = d < head_dim ? qh[d] : 0.f;
        acc[i] = 0.f;
    }
    float running_max = -INFINITY, running_sum = 0.f;
    for (int j = first + warp; j < end; j += ATTENTION_WARPS) {
        const float* kj = keys + (long long) j * kv_width;
        const float* vj = values + (long long) j * kv_width;
        float s = 0.f, v[per_lane];
        // The values are loaded with the keys, so that one memory round trip serves both.
#pragma unroll
        for (int i = 0; i < per_lane; i++) {
            int d = lane + 32 * i;
            if (d < head_dim) {
                s += qv[i] * kj[d];
                v[i] = vj[d];
            } else {
                v[i] = 0.f;
            }
        }
        s = warp_sum(s) * scale;
        float new_max = fmaxf(running_max, s);
        float correction = expf(running_max - new_max);
        float p = expf(s - new_max);
        running_sum = running_sum * correction + p;
#pragma unroll
        for (int i = 0; i < per_lane; i++) acc[i] = acc[i] * correction + p * v[i];
        running_max = new_max;
    }
    if (lane == 0) {
        part_max[warp] = running_max;
        part_sum[warp] = running_sum;
    }
#pragma unroll
    for (int i = 0; i < per_lane; i++) {
        int d = lane + 32 * i;
        if (d < head_dim) part_acc[warp][d] = acc[i];
    }
    __syncthreads();
    float* out = partials + ((long long) (t * heads + h) * ATTENTION_SPLITS + split) * (head_dim + 2);
    float m = -INFINITY;
    for (int w = 0; w < ATTENTION_WARPS; w++) m = fmaxf(m, part_max[w]);
    for (int d = threadIdx.x; d < head_dim + 2; d += blockDim.x) {
        float sum = 0.f, value = 0.f;
        for (int w = 0; w < ATTENTION_WARPS; w++) {
            if (part_sum[w] == 0.f) continue;  // a warp that saw no key
            float c = expf(part_max[w] - m);
            sum += part_sum[w] * c;
            if (d < head_dim) value += part_acc[w][d] * c;
        }
        out[d] = d < head_dim ? value : d == head_dim ? m : sum;
    }
}

// Grid: (rows, heads); one thread per dimension of the head.
static __device__ __forceinline__ void attention_merge_head(const float* __restrict__ partials, int heads, int head_dim,
                                                       float* __restrict__ out) {
    int t = blockIdx.x, h = blockIdx.y;
    const float* part = partials + (long long) (t * heads + h) * ATTENTION_SPLITS * (head_dim + 2);
    float m = -INFINITY;
    for (int s = 0; s < ATTENTION_SPLITS; s++) {
        if (part[s * (head_dim + 2) + head_dim + 1] > 0.f) m = fmaxf(m, part[s * (head_dim + 2) + head_dim]);
    }
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float sum = 0.f, value = 0.f;
        for (int s = 0; s < ATTENTION_SPLITS; s++) {
            const float* p = part + s * (head_dim + 2);
            if (p[head_dim + 1] == 0.f) continue;  // a stretch with no key (short rows)
            float c = expf(p[head_dim] - m);
            sum += p[head_dim + 1] * c;
            value += p[d] * c;
        }
        out[(long long) t * heads * head_dim + h * head_dim + d] = value / sum;
    }
}

// Grid: one block per row; the largest magnitude of each row of x, as the power of two by which the row is divided
// before it is rounded to F16 for the tensor cores (1 unless the row holds values above 16384: F16 ends at 65504,
// and a power of two scales without rounding).
static __device__ __forceinline__ void row_scale_of(const float* __restrict__ x, int cols, float* __restrict__ scales) {
    __shared__ float scratch[32];
    int t = blockIdx.x;
    const float* row = x + (long long) t * cols;
    float m = 0.f;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) m = fmaxf(m, fabsf(row[i]));
    m = warp_max(m);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) scratch[warp] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 0; w < warps; w++) m = fmaxf(m, scratch[w]);
        float scale = 1.f;
        if (m > 16384.f) {
            int e;
            frexpf(m / 16384.f, &e);
            scale = ldexpf(1.f, e);
        }
        scales[t] = scale;
    }
}

static __device__ __forceinline__ void swiglu_values(float* gate, const float* __restrict__ up, int count) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
}
