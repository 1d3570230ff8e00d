// Kernels for CudaEmulatorSelfTest: each exercises one part of the execution model, in ordinary CUDA C.
#include <cuda_fp16.h>

#include "selftest_helpers.cuh"

// Tree reduction in shared memory: every step depends on __syncthreads ordering the writes of other threads.
extern "C" __global__ void __launch_bounds__(256) block_sum(const float *__restrict__ in, float *__restrict__ out, int n) {
    __shared__ float partial[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    partial[threadIdx.x] = i < n ? in[i] : 0.0f;
    __syncthreads();
    for (unsigned int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
}

// One output row per thread: xor-reduced sum, down-reduced sum (valid in lane 0), inclusive scan by up-shuffles,
// broadcast of lane 5, xor sum within half-warps (width 16), and a float xor sum.
extern "C" __global__ void warp_shuffles(const int *in, int *out, float *fout) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int v = in[t];
    int lane = threadIdx.x % warpSize;
    out[t * 6 + 0] = warp_sum_xor(v);
    int d = v;
    for (int off = 16; off > 0; off /= 2) d += __shfl_down_sync(0xffffffffu, d, off);
    out[t * 6 + 1] = d;
    int s = v;
    for (int off = 1; off < 32; off *= 2) {
        int o = __shfl_up_sync(0xffffffffu, s, off);
        if (lane >= off) s += o;
    }
    out[t * 6 + 2] = s;
    out[t * 6 + 3] = __shfl_sync(0xffffffffu, v, 5);
    int h = v;
    for (int off = 8; off > 0; off /= 2) h += __shfl_xor_sync(0xffffffffu, h, off, 16);
    out[t * 6 + 4] = h;
    unsigned int u = (unsigned int)v;
    out[t * 6 + 5] = (int)__shfl_down_sync(0xffffffffu, u, 1);
    fout[t] = warp_sum_xor((float)v * 0.5f);
}

extern "C" __global__ void votes(const int *pred, unsigned int *out) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    int p = pred[t];
    unsigned int b = __ballot_sync(0xffffffffu, p);
    int any = __any_sync(0xffffffffu, p);
    int all = __all_sync(0xffffffffu, p);
    __syncwarp();
    out[t * 3 + 0] = b;
    out[t * 3 + 1] = (unsigned int)any;
    out[t * 3 + 2] = (unsigned int)all;
}

// Threads past n return before the barrier and the shuffles; the rest must neither deadlock nor see them.
// Launched with a block size that is not a multiple of 32, so the last warp is partial as well.
extern "C" __global__ void early_exit(int *out, int n) {
    __shared__ int count;
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    if (t >= n) return;
    atomicAdd(&count, 1);
    __syncthreads();
    unsigned int active = __ballot_sync(0xffffffffu, 1);
    // Values of exited lanes are undefined, so reduce only over the active ones, with that partial mask.
    int lane = threadIdx.x % 32, sum = 1;
    for (int off = 16; off > 0; off /= 2) {
        int other = __shfl_down_sync(active, sum, off);
        if (lane + off < 32 && (active >> (lane + off) & 1u)) sum += other;
    }
    sum = __shfl_sync(active, sum, 0);
    out[t * 3 + 0] = count;
    out[t * 3 + 1] = (int)active;
    out[t * 3 + 2] = sum;
}

extern "C" __global__ void atomics(int *isum, float *fsum, unsigned int *umax, int *imax, int *exch, unsigned long long *usum) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(isum, 1);
    atomicAdd(fsum, 0.25f);
    atomicMax(umax, (unsigned int)t * 3u);
    atomicMax(imax, -t);
    atomicExch(exch, 7);
    atomicAdd(usum, (unsigned long long)t);
}

// Float to half for every input, and half to float for all 65536 half bit patterns.
extern "C" __global__ void half_convert(const float *in, unsigned short *out, int n, float *all) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n) out[t] = __half_as_ushort(__float2half_rn(in[t]));
    if (t < 65536) all[t] = __half2float(__ushort_as_half((unsigned short)t));
}

extern "C" __global__ void misc_intrinsics(const int *a, const int *b, int *out) {
    int t = threadIdx.x;
    out[t * 4 + 0] = __dp4a(a[t], b[t], 1000);
    out[t * 4 + 1] = min(a[t], b[t]);
    out[t * 4 + 2] = max(a[t], b[t]);
    out[t * 4 + 3] = __float_as_int(__int_as_float(a[t]) + 0.0f) == a[t] || a[t] != a[t];
}

// Parameters of several types; used for capture: the graph must replay with the values given at capture time.
extern "C" __global__ void axpb(const float *x, float *y, float a, long long n, unsigned int b) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + (float)b;
}

// Lanes 0-15 shuffle with a full mask while lanes 16-31 wait at __syncthreads: no rendezvous can ever complete.
extern "C" __global__ void divergent_shuffle(int *out) {
    int v = threadIdx.x;
    if (threadIdx.x % 32 < 16) {
        v = __shfl_xor_sync(0xffffffffu, v, 1);
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = v;
}

// Both halves of the warp reach a warp intrinsic, but different ones.
extern "C" __global__ void mismatched_shuffle(int *out) {
    int v = threadIdx.x;
    if (threadIdx.x % 32 < 16) v = __shfl_xor_sync(0xffffffffu, v, 1);
    else v = __shfl_down_sync(0xffffffffu, v, 1);
    out[threadIdx.x] = v;
}

// Ten shuffles per thread; the self test runs 50,000 blocks of 128 threads of this.
extern "C" __global__ void shuffle_storm(float *out) {
    float v = (float)(threadIdx.x + blockIdx.x);
    for (int i = 0; i < 5; i++) v = warp_sum_xor_steps(v, 2);
    if (threadIdx.x % 32 == 0) out[blockIdx.x * 4 + threadIdx.x / 32] = v;
}

// Block-wide votes, twice in a row (the results of consecutive barriers must not mix), with some threads gone.
extern "C" __global__ void block_votes(int *out) {
    int t = threadIdx.x;
    if (t % 7 == 0) return;
    int count = __syncthreads_count(t % 3 == 0);
    int all = __syncthreads_and(t % 2 == 0);
    int any = __syncthreads_or(t == 50);
    if (t == 1) {
        out[blockIdx.x * 3 + 0] = count;
        out[blockIdx.x * 3 + 1] = all;
        out[blockIdx.x * 3 + 2] = any;
    }
}
