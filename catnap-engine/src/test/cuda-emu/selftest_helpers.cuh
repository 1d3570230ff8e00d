// Device helpers in an included header, as the project's kernels are organized; also checks that build.sh
// compiles templates and __device__ functions from included files.
#pragma once

template <class T> __device__ __forceinline__ T warp_sum_xor(T v) {
    for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// `steps` xor-shuffle steps over the lowest lane distances.
__device__ __noinline__ float warp_sum_xor_steps(float v, int steps) {
    for (int i = 0; i < steps; i++) v += __shfl_xor_sync(0xffffffffu, v, 1 << i);
    return v;
}
