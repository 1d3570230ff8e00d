// Shared helpers for Catnap's CUDA kernels. Weights stay in their GGUF encoding on the device and are decoded in
// registers; activations and the KV cache are F32 so that the CUDA path computes what the CPU backend computes.
#pragma once

#include <cuda_fp16.h>
#include <mma.h>

#ifndef CATNAP_EMU
#define SHARED_ALIGN __align__(128)
#else
// The tests' host emulator: arrays are aligned by their type, and its fragments do not care about alignment.
#define SHARED_ALIGN
#endif
using namespace nvcuda;
typedef __half half;

#if defined(CATNAP_EMU) && !defined(CATNAP_EMU_HAS_FLOAT4)
// The host emulator of the tests compiles these sources as C++; CUDA's vector type is all it lacks here.
struct alignas(16) float4 {
    float x, y, z, w;
};
#endif

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned long long u64;

// ggml type ids, as GGUF stores them.
#define GGML_F32 0
#define GGML_F16 1
#define GGML_Q4_0 2
#define GGML_Q8_0 8

// Epilogues fused into the matrix products: the result (plus bias) is stored, added to what is there (a residual
// connection), or passed through GELU.
#define EPILOGUE_STORE 0
#define EPILOGUE_ADD 1
#define EPILOGUE_GELU 2

static __device__ __forceinline__ float f16_to_f32(u16 bits) {
    return __half2float(__ushort_as_half(bits));
}

static __device__ __forceinline__ float f32_to_f16_to_f32(float x) {
    return __half2float(__float2half_rn(x));
}

static __device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of up to 1024 threads; every thread gets the total. `scratch` holds one float per warp.
static __device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < warps; w++) total += scratch[w];
    return total;
}

// GELU as ggml's CPU path evaluates it, which the CPU backend reproduces: the tanh approximation at the input
// rounded to F16, the result rounded to F16, identity above 10 and zero below -10.
static __device__ __forceinline__ float gelu_f16_table(float x) {
    if (x <= -10.f) return 0.f;
    if (x >= 10.f) return x;
    float h = f32_to_f16_to_f32(x);
    const float sqrt2_over_pi = 0.79788456080286535587989211986876f;
    float y = 0.5f * h * (1.0f + (float) tanh((double) (sqrt2_over_pi * h * (1.0f + 0.044715f * h * h))));
    return f32_to_f16_to_f32(y);
}

static __device__ __forceinline__ float epilogue(float v, float old, int mode) {
    if (mode == EPILOGUE_ADD) return old + v;
    if (mode == EPILOGUE_GELU) return gelu_f16_table(v);
    return v;
}

// Bytes of one row of `cols` values in a weight type.
static __device__ __forceinline__ long long row_bytes(int type, int cols) {
    switch (type) {
        case GGML_F32: return 4LL * cols;
        case GGML_F16: return 2LL * cols;
        case GGML_Q8_0: return (long long) (cols / 32) * 34;
        default: return (long long) (cols / 32) * 18;  // Q4_0
    }
}

// Eight consecutive values [k, k+8) of one weight row (k a multiple of 8), decoded to F32.
template <int TYPE>
static __device__ __forceinline__ void decode8(const u8* __restrict__ row, int k, float* v) {
    if (TYPE == GGML_F32) {
        const float4* p = (const float4*) (row + 4LL * k);
        float4 a = p[0], b = p[1];
        v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
    } else if (TYPE == GGML_F16) {
        const u16* p = (const u16*) (row + 2LL * k);
#pragma unroll
        for (int i = 0; i < 8; i++) v[i] = f16_to_f32(p[i]);
    } else if (TYPE == GGML_Q8_0) {
        // 34-byte blocks: an F16 scale, then 32 signed bytes. Blocks are only 2-byte aligned.
        const u8* block = row + (long long) (k >> 5) * 34;
        float d = f16_to_f32(*(const u16*) block);
        const u16* q = (const u16*) (block + 2 + (k & 31));
#pragma unroll
        for (int i = 0; i < 4; i++) {
            u16 two = q[i];
            v[2 * i] = d * (float) (signed char) (two & 0xff);
            v[2 * i + 1] = d * (float) (signed char) (two >> 8);
        }
    } else {
        // Q4_0, 18-byte blocks: an F16 scale, then 16 bytes whose low nibbles are values 0..15 and high nibbles
        // 16..31, each stored with an offset of 8.
        const u8* block = row + (long long) (k >> 5) * 18;
        float d = f16_to_f32(*(const u16*) block);
        int within = k & 31;
        const u8* q = block + 2 + (within & 15);
        int shift = within >= 16 ? 4 : 0;
#pragma unroll
        for (int i = 0; i < 8; i++) v[i] = d * (float) (((q[i] >> shift) & 0xf) - 8);
    }
}
