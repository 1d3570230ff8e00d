// Catnap's CUDA kernels, one module. Every entry point is extern "C" so the Java side finds it by its plain name
// (cuModuleGetFunction), and each starts a line with `extern "C" __global__ void` so the test emulator can list them.
#include "common.cuh"
#include "matmul.cuh"
#include "layers.cuh"

// Decode products, by weight type and by how many activation rows share one pass over the weights.
extern "C" __global__ void matvec_f32_n1(MATMUL_PARAMS) { matvec<GGML_F32, 1>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f32_n2(MATMUL_PARAMS) { matvec<GGML_F32, 2>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f32_n4(MATMUL_PARAMS) { matvec<GGML_F32, 4>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f32_n8(MATMUL_PARAMS) { matvec<GGML_F32, 8>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f32_n16(MATMUL_PARAMS) { matvec<GGML_F32, 16>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f16_n1(MATMUL_PARAMS) { matvec<GGML_F16, 1>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f16_n2(MATMUL_PARAMS) { matvec<GGML_F16, 2>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f16_n4(MATMUL_PARAMS) { matvec<GGML_F16, 4>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f16_n8(MATMUL_PARAMS) { matvec<GGML_F16, 8>(MATMUL_ARGS); }
extern "C" __global__ void matvec_f16_n16(MATMUL_PARAMS) { matvec<GGML_F16, 16>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q8_0_n1(MATMUL_PARAMS) { matvec<GGML_Q8_0, 1>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q8_0_n2(MATMUL_PARAMS) { matvec<GGML_Q8_0, 2>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q8_0_n4(MATMUL_PARAMS) { matvec<GGML_Q8_0, 4>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q8_0_n8(MATMUL_PARAMS) { matvec<GGML_Q8_0, 8>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q8_0_n16(MATMUL_PARAMS) { matvec<GGML_Q8_0, 16>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q4_0_n1(MATMUL_PARAMS) { matvec<GGML_Q4_0, 1>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q4_0_n2(MATMUL_PARAMS) { matvec<GGML_Q4_0, 2>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q4_0_n4(MATMUL_PARAMS) { matvec<GGML_Q4_0, 4>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q4_0_n8(MATMUL_PARAMS) { matvec<GGML_Q4_0, 8>(MATMUL_ARGS); }
extern "C" __global__ void matvec_q4_0_n16(MATMUL_PARAMS) { matvec<GGML_Q4_0, 16>(MATMUL_ARGS); }

// Prompt products (more than 16 rows), on tensor cores.
extern "C" __global__ void matmul_f32(SCALED_MATMUL_PARAMS) { matmul_tensor_cores<GGML_F32>(SCALED_MATMUL_ARGS); }
extern "C" __global__ void matmul_f16(SCALED_MATMUL_PARAMS) { matmul_tensor_cores<GGML_F16>(SCALED_MATMUL_ARGS); }
extern "C" __global__ void matmul_q8_0(SCALED_MATMUL_PARAMS) { matmul_tensor_cores<GGML_Q8_0>(SCALED_MATMUL_ARGS); }
extern "C" __global__ void matmul_q4_0(SCALED_MATMUL_PARAMS) { matmul_tensor_cores<GGML_Q4_0>(SCALED_MATMUL_ARGS); }

// Embedding rows (token or position tables) by id, decoded to F32; with accumulate, added to what `out` holds.
extern "C" __global__ void embed_f32(EMBED_PARAMS) { embed_row<GGML_F32>(EMBED_ARGS); }
extern "C" __global__ void embed_f16(EMBED_PARAMS) { embed_row<GGML_F16>(EMBED_ARGS); }
extern "C" __global__ void embed_q8_0(EMBED_PARAMS) { embed_row<GGML_Q8_0>(EMBED_ARGS); }
extern "C" __global__ void embed_q4_0(EMBED_PARAMS) { embed_row<GGML_Q4_0>(EMBED_ARGS); }

extern "C" __global__ void layer_norm(const float* x, const int* row_index, float* out, const float* weight,
                                      const float* bias, int dim, float eps) {
    layer_norm_row(x, row_index, out, weight, bias, dim, eps);
}

extern "C" __global__ void rms_norm(const float* x, const int* row_index, float* out, const float* weight, int dim,
                                    float eps) {
    rms_norm_row(x, row_index, out, weight, dim, eps);
}

extern "C" __global__ void rope(float* x, int width, int heads, int head_dim, const int* positions, float theta_scale,
                                int neox) {
    rope_head(x, width, heads, head_dim, positions, theta_scale, neox);
}

extern "C" __global__ void kv_store(const float* k, int k_stride, const float* v, int v_stride, const u64* caches,
                                    const int* capacities, const int* positions, int layer, int kv_width) {
    kv_store_row(k, k_stride, v, v_stride, caches, capacities, positions, layer, kv_width);
}

extern "C" __global__ void attention_part(const float* q, int q_stride, const u64* caches, const int* capacities,
                                          const int* positions, int layer, int heads, int kv_heads, int head_dim,
                                          float scale, float* partials) {
    attention_part_head(q, q_stride, caches, capacities, positions, layer, heads, kv_heads, head_dim, scale, partials);
}

extern "C" __global__ void attention_merge(const float* partials, int heads, int head_dim, float* out) {
    attention_merge_head(partials, heads, head_dim, out);
}

extern "C" __global__ void row_scale(const float* x, int cols, float* scales) {
    row_scale_of(x, cols, scales);
}

extern "C" __global__ void swiglu(float* gate, const float* up, int count) {
    swiglu_values(gate, up, count);
}
