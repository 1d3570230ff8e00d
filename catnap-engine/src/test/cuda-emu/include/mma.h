// Stand-in for CUDA's <mma.h>: the WMMA fragment API for the 16x16x16 shapes Catnap's kernels use, with F16 inputs
// and F32 accumulators. CUDA leaves the distribution of a fragment over a warp's lanes unspecified; here every lane
// holds the whole matrix and computes the whole product, so the operations need no synchronisation and give, in
// every lane, the exact F32 sum of exact F16 products that the tensor cores approximate (their accumulation order
// and rounding differ in the last bits).
#pragma once

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K> struct fragment_shape;
template <int M, int N, int K> struct fragment_shape<matrix_a, M, N, K> { static const int rows = M, cols = K; };
template <int M, int N, int K> struct fragment_shape<matrix_b, M, N, K> { static const int rows = K, cols = N; };
template <int M, int N, int K> struct fragment_shape<accumulator, M, N, K> { static const int rows = M, cols = N; };

// Elements are kept row-major whatever the memory layout they were loaded from.
template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static const int rows = fragment_shape<Use, M, N, K>::rows;
    static const int cols = fragment_shape<Use, M, N, K>::cols;
    static const int num_elements = rows * cols;
    T x[num_elements];
};

template <class Use, int M, int N, int K, class T, class Layout>
inline void fill_fragment(fragment<Use, M, N, K, T, Layout>& f, T value) {
    for (int i = 0; i < f.num_elements; i++) f.x[i] = value;
}

template <class Use, int M, int N, int K, class T>
inline void load_matrix_sync(fragment<Use, M, N, K, T, row_major>& f, const T* p, unsigned ldm) {
    for (int r = 0; r < f.rows; r++)
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = p[r * ldm + c];
}

template <class Use, int M, int N, int K, class T>
inline void load_matrix_sync(fragment<Use, M, N, K, T, col_major>& f, const T* p, unsigned ldm) {
    for (int r = 0; r < f.rows; r++)
        for (int c = 0; c < f.cols; c++) f.x[r * f.cols + c] = p[c * ldm + r];
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t layout) {
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) f.x[r * N + c] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t layout) {
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[r * N + c];
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, T, LA>& a,
                     const fragment<matrix_b, M, N, K, T, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    float result[M * N];
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float sum = c.x[m * N + n];
            for (int k = 0; k < K; k++) sum += (float) a.x[m * K + k] * (float) b.x[k * N + n];
            result[m * N + n] = sum;
        }
    for (int i = 0; i < M * N; i++) d.x[i] = result[i];
}

}  // namespace wmma
}  // namespace nvcuda
