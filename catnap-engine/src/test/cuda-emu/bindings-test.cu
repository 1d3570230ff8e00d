// Kernels for CudaBindingsTest and CudaDriverGpuTest: one argument of each kind the bindings marshal (pointer, 64-bit
// integer, 32-bit integer, float), and more arguments than a stream's first parameter block holds.

// out[i] = in[i] * scale + offset for i < count; count is 64-bit so a Long that is not a pointer is exercised too.
extern "C" __global__ void bindings_scale(float *out, const float *in, long long count, int scale, float offset) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) out[i] = in[i] * (float)scale + offset;
}

// out[i] += 1 for i < count: run twice by one graph replay, it shows the replay re-ran the kernel.
extern "C" __global__ void bindings_increment(int *out, int count) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) out[i] += 1;
}

// *out = a00 + 2*a01 + ... + 40*a39: forty arguments, weighted so that a slot out of order changes the sum.
extern "C" __global__ void bindings_sum40(long long *out,
        int a00, int a01, int a02, int a03, int a04, int a05, int a06, int a07, int a08, int a09,
        int a10, int a11, int a12, int a13, int a14, int a15, int a16, int a17, int a18, int a19,
        int a20, int a21, int a22, int a23, int a24, int a25, int a26, int a27, int a28, int a29,
        int a30, int a31, int a32, int a33, int a34, int a35, int a36, int a37, int a38, int a39) {
    int a[40] = {a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19,
                 a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, a33, a34, a35, a36, a37, a38, a39};
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        long long sum = 0;
        for (int i = 0; i < 40; i++) sum += (long long)(i + 1) * a[i];
        *out = sum;
    }
}
