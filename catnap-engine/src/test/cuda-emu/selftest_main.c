/* A driver API client for the emulator, written the way a real libcuda client is. CudaEmulatorSelfTest compiles it
 * against cuda.h, links it to libcatnap-cuda-emu.so and checks what it prints.
 *
 *   selftest_main api                 every driver call and kernel check; prints "ok NAME" / "FAIL NAME: why"
 *   selftest_main half IN OUT         IN: little-endian float32s; OUT: their halves (u16) then all 65536 halves as
 *                                     float32
 *   selftest_main storm               50,000 blocks x 128 threads, 10 warp shuffles per thread
 */
#define _POSIX_C_SOURCE 200809L
#include <cuda.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

static void check(int ok, const char *name, const char *detail) {
    if (ok) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: %s\n", name, detail);
        failures++;
    }
}

static const char *err_name(CUresult r) {
    const char *s = NULL;
    if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == NULL) return "(unknown code)";
    return s;
}

/* Checks that a call returns `expected`. */
static void expect(CUresult got, CUresult expected, const char *name) {
    char detail[160];
    snprintf(detail, sizeof detail, "returned %s (%d), expected %s (%d)", err_name(got), (int)got, err_name(expected),
             (int)expected);
    check(got == expected, name, detail);
}

/* Aborts the run: later checks would only report consequences of this one. */
static void must(CUresult got, const char *what) {
    if (got != CUDA_SUCCESS) {
        printf("FAIL %s: returned %s (%d)\n", what, err_name(got), (int)got);
        exit(1);
    }
}

static CUfunction function(CUmodule m, const char *name) {
    CUfunction f;
    must(cuModuleGetFunction(&f, m, name), name);
    return f;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static CUmodule setup(void) {
    CUdevice dev;
    CUcontext ctx;
    CUmodule module;
    must(cuInit(0), "cuInit");
    must(cuDeviceGet(&dev, 0), "cuDeviceGet");
    must(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
    must(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    must(cuModuleLoadData(&module, "// PTX is ignored by the emulator\n"), "cuModuleLoadData");
    return module;
}

static void test_device(void) {
    int count = -1, version = 0, v;
    CUdevice dev;
    char name[64];
    size_t total = 0;
    expect(cuDeviceGetCount(&count), CUDA_ERROR_NOT_INITIALIZED, "device count before cuInit");
    expect(cuDriverGetVersion(&version), CUDA_SUCCESS, "driver version before cuInit");
    check(version == 13000, "driver version is 13000", "wrong version");
    expect(cuInit(1), CUDA_ERROR_INVALID_VALUE, "cuInit with flags");
    must(cuInit(0), "cuInit");
    must(cuDeviceGetCount(&count), "cuDeviceGetCount");
    check(count == 1, "one device", "count != 1");
    expect(cuDeviceGet(&dev, 1), CUDA_ERROR_INVALID_DEVICE, "second device");
    must(cuDeviceGet(&dev, 0), "cuDeviceGet");
    must(cuDeviceGetName(name, sizeof name, dev), "cuDeviceGetName");
    check(strcmp(name, "Catnap CUDA emulator") == 0, "device name", name);
    must(cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem");
    check(total == (size_t)8 << 30, "total memory 8 GiB", "wrong total");
    must(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cc major");
    check(v == 9, "compute capability major 9", "wrong major");
    must(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cc minor");
    check(v == 0, "compute capability minor 0", "wrong minor");
    must(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev), "warp size");
    check(v == 32, "warp size 32", "wrong warp size");
    must(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev), "max threads");
    check(v == 1024, "max threads per block 1024", "wrong max threads");
    must(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "sm count");
    check(v > 0, "multiprocessor count", "not positive");
}

static void test_context_and_memory(void) {
    CUdevice dev;
    CUcontext ctx, current;
    CUdeviceptr a, b, big;
    size_t free0, free1, total;
    unsigned char host[1000], back[1000];
    uint32_t words[64];
    void *pinned;
    int i, same = 1;

    must(cuDeviceGet(&dev, 0), "cuDeviceGet");
    expect(cuMemAlloc(&a, 16), CUDA_ERROR_INVALID_CONTEXT, "alloc without current context");
    must(cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
    must(cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
    must(cuCtxGetCurrent(&current), "cuCtxGetCurrent");
    check(current == ctx, "current context", "differs");

    must(cuMemGetInfo(&free0, &total), "cuMemGetInfo");
    must(cuMemAlloc(&a, 1000), "cuMemAlloc");
    must(cuMemAlloc(&b, 1000), "cuMemAlloc");
    check(a % 256 == 0 && b % 256 == 0, "allocations 256-byte aligned", "misaligned");
    must(cuMemGetInfo(&free1, &total), "cuMemGetInfo");
    check(free0 - free1 >= 2000, "free memory accounts allocations", "free did not drop");
    expect(cuMemAlloc(&big, (size_t)9 << 30), CUDA_ERROR_OUT_OF_MEMORY, "alloc beyond total memory");
    expect(cuMemAlloc(&big, 0), CUDA_ERROR_INVALID_VALUE, "alloc of 0 bytes");
    expect(cuMemAlloc(NULL, 16), CUDA_ERROR_INVALID_VALUE, "alloc into null");
    expect(cuMemFree(a + 8), CUDA_ERROR_INVALID_VALUE, "free of an interior pointer");

    for (i = 0; i < 1000; i++) host[i] = (unsigned char)(i * 7);
    must(cuMemcpyHtoD(a, host, 1000), "cuMemcpyHtoD");
    must(cuMemcpyDtoD(b, a, 1000), "cuMemcpyDtoD");
    memset(back, 0, sizeof back);
    must(cuMemcpyDtoH(back, b, 1000), "cuMemcpyDtoH");
    check(memcmp(host, back, 1000) == 0, "copy round trip", "bytes differ");
    expect(cuMemcpyHtoD(a, host, 1001), CUDA_ERROR_INVALID_VALUE, "copy past the end of an allocation");
    expect(cuMemcpyDtoH(back, a + 1000, 1), CUDA_ERROR_INVALID_VALUE, "copy from outside any allocation");

    must(cuMemsetD8(a, 0xab, 1000), "cuMemsetD8");
    must(cuMemcpyDtoH(back, a, 1000), "cuMemcpyDtoH");
    for (i = 0; i < 1000; i++) same &= back[i] == 0xab;
    check(same, "memset D8", "wrong bytes");
    must(cuMemsetD32(b, 0xdeadbeefu, 64), "cuMemsetD32");
    must(cuMemcpyDtoH(words, b, sizeof words), "cuMemcpyDtoH");
    same = 1;
    for (i = 0; i < 64; i++) same &= words[i] == 0xdeadbeefu;
    check(same, "memset D32", "wrong words");
    expect(cuMemsetD32(b + 2, 0, 1), CUDA_ERROR_INVALID_VALUE, "misaligned memset D32");

    must(cuMemAllocHost(&pinned, 4096), "cuMemAllocHost");
    must(cuMemcpyDtoH(pinned, a, 1000), "copy into pinned memory");
    check(((unsigned char *)pinned)[999] == 0xab, "pinned copy", "wrong byte");
    must(cuMemFreeHost(pinned), "cuMemFreeHost");
    expect(cuMemFreeHost(pinned), CUDA_ERROR_INVALID_VALUE, "double free of pinned memory");

    must(cuMemFree(a), "cuMemFree");
    must(cuMemFree(b), "cuMemFree");
    expect(cuMemFree(a), CUDA_ERROR_INVALID_VALUE, "double free");
    must(cuMemGetInfo(&free1, &total), "cuMemGetInfo");
    check(free1 == free0, "free memory restored", "leak in accounting");
}

static void test_kernels(CUmodule module) {
    CUfunction f;
    CUdeviceptr din, dout, dfout, dx;
    int i, ok;
    char detail[200];

    expect(cuModuleGetFunction(&f, module, "no_such_kernel"), CUDA_ERROR_NOT_FOUND, "unknown kernel name");
    expect(cuModuleGetFunction(&f, NULL, "block_sum"), CUDA_ERROR_INVALID_VALUE, "null module");

    { /* shared-memory block reduction */
        enum { N = 1000, BLOCKS = 4 };
        float in[N], out[BLOCKS];
        int n = N;
        void *params[] = {&din, &dout, &n};
        for (i = 0; i < N; i++) in[i] = (float)(i % 17) - 3.0f;
        must(cuMemAlloc(&din, sizeof in), "alloc");
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        must(cuMemcpyHtoD(din, in, sizeof in), "copy");
        f = function(module, "block_sum");
        must(cuLaunchKernel(f, BLOCKS, 1, 1, 256, 1, 1, 0, NULL, params, NULL), "launch block_sum");
        must(cuMemcpyDtoH(out, dout, sizeof out), "copy");
        ok = 1;
        for (int b = 0; b < BLOCKS; b++) {
            float want = 0;
            for (i = b * 256; i < (b + 1) * 256 && i < N; i++) want += in[i];
            if (out[b] != want) {
                ok = 0;
                snprintf(detail, sizeof detail, "block %d: %g, expected %g", b, out[b], want);
            }
        }
        check(ok, "block reduction with __syncthreads", detail);
        expect(cuLaunchKernel(f, 1, 1, 1, 1025, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE,
               "block of 1025 threads");
        expect(cuLaunchKernel(f, 1, 1, 1, 32, 32, 2, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE,
               "block of 32x32x2 threads");
        expect(cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE, "empty grid");
        expect(cuLaunchKernel(NULL, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE,
               "null function");
        expect(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE,
               "missing parameters");
        cuMemFree(din);
        cuMemFree(dout);
    }

    { /* every shuffle kind */
        enum { T = 128 };
        int in[T], out[T * 6];
        float fout[T];
        void *params[] = {&din, &dout, &dfout};
        for (i = 0; i < T; i++) in[i] = (i * 37) % 101 - 50;
        must(cuMemAlloc(&din, sizeof in), "alloc");
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        must(cuMemAlloc(&dfout, sizeof fout), "alloc");
        must(cuMemcpyHtoD(din, in, sizeof in), "copy");
        must(cuLaunchKernel(function(module, "warp_shuffles"), 2, 1, 1, 64, 1, 1, 0, NULL, params, NULL),
             "launch warp_shuffles");
        must(cuMemcpyDtoH(out, dout, sizeof out), "copy");
        must(cuMemcpyDtoH(fout, dfout, sizeof fout), "copy");
        int okXor = 1, okDown = 1, okUp = 1, okIdx = 1, okWidth = 1, okUnsigned = 1, okFloat = 1;
        for (i = 0; i < T; i++) {
            int w = i / 32 * 32, lane = i % 32, sum = 0, scan = 0, half = 0, k;
            float fsum = 0;
            for (k = 0; k < 32; k++) sum += in[w + k], fsum += in[w + k] * 0.5f;
            for (k = 0; k <= lane; k++) scan += in[w + k];
            for (k = 0; k < 16; k++) half += in[w + lane / 16 * 16 + k];
            okXor &= out[i * 6 + 0] == sum;
            if (lane == 0) okDown &= out[i * 6 + 1] == sum;
            okUp &= out[i * 6 + 2] == scan;
            okIdx &= out[i * 6 + 3] == in[w + 5];
            okWidth &= out[i * 6 + 4] == half;
            okUnsigned &= out[i * 6 + 5] == (lane == 31 ? in[i] : in[i + 1]);
            okFloat &= fout[i] == fsum;
        }
        check(okXor, "__shfl_xor_sync reduction", "wrong sums");
        check(okDown, "__shfl_down_sync reduction", "wrong sums");
        check(okUp, "__shfl_up_sync inclusive scan", "wrong scan");
        check(okIdx, "__shfl_sync broadcast", "wrong broadcast");
        check(okWidth, "__shfl_xor_sync with width 16", "wrong half-warp sums");
        check(okUnsigned, "__shfl_down_sync on unsigned, last lane keeps its value", "wrong values");
        check(okFloat, "__shfl_xor_sync on float", "wrong float sums");
        cuMemFree(din);
        cuMemFree(dout);
        cuMemFree(dfout);
    }

    { /* votes */
        enum { T = 64 };
        int pred[T];
        unsigned out[T * 3];
        void *params[] = {&din, &dout};
        for (i = 0; i < T; i++) pred[i] = i < 32 ? (i % 3 == 0) : 1;
        must(cuMemAlloc(&din, sizeof pred), "alloc");
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        must(cuMemcpyHtoD(din, pred, sizeof pred), "copy");
        must(cuLaunchKernel(function(module, "votes"), 1, 1, 1, T, 1, 1, 0, NULL, params, NULL), "launch votes");
        must(cuMemcpyDtoH(out, dout, sizeof out), "copy");
        unsigned ballot0 = 0;
        for (i = 0; i < 32; i++) ballot0 |= (unsigned)(i % 3 == 0) << i;
        check(out[0] == ballot0 && out[3 * 31] == ballot0, "__ballot_sync", "wrong ballot");
        check(out[3 * 32] == 0xffffffffu, "__ballot_sync all true", "wrong ballot");
        check(out[1] == 1 && out[2] == 0 && out[3 * 40 + 1] == 1 && out[3 * 40 + 2] == 1, "__any_sync and __all_sync",
              "wrong vote");
        cuMemFree(din);
        cuMemFree(dout);
    }

    { /* early exit, partial warps */
        enum { BLOCK = 100, N = 150 };
        int out[N * 3];
        int n = N;
        void *params[] = {&dout, &n};
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        must(cuLaunchKernel(function(module, "early_exit"), 2, 1, 1, BLOCK, 1, 1, 0, NULL, params, NULL),
             "launch early_exit");
        must(cuMemcpyDtoH(out, dout, sizeof out), "copy");
        ok = 1;
        for (i = 0; i < N; i++) {
            int block = i / BLOCK, t = i % BLOCK, live = block == 0 ? BLOCK : N - BLOCK;
            int warpStart = t / 32 * 32, lanes = live - warpStart < 32 ? live - warpStart : 32;
            unsigned mask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
            if (out[i * 3] != live || (unsigned)out[i * 3 + 1] != mask || out[i * 3 + 2] != lanes) {
                ok = 0;
                snprintf(detail, sizeof detail, "thread %d: count %d ballot 0x%x sum %d, expected %d 0x%x %d", i,
                         out[i * 3], out[i * 3 + 1], out[i * 3 + 2], live, mask, lanes);
            }
        }
        check(ok, "early-exit threads leave barriers and warps", detail);
        cuMemFree(dout);
    }

    { /* atomics across blocks on several OS threads */
        CUdeviceptr isum, fsum, umax, imax, exch, usum;
        int zero = 0, minInt = -2147483647 - 1, iv, ev;
        float fz = 0, fv;
        unsigned uz = 0, uv;
        unsigned long long ullz = 0, ullv;
        void *params[] = {&isum, &fsum, &umax, &imax, &exch, &usum};
        must(cuMemAlloc(&isum, 4), "alloc");
        must(cuMemAlloc(&fsum, 4), "alloc");
        must(cuMemAlloc(&umax, 4), "alloc");
        must(cuMemAlloc(&imax, 4), "alloc");
        must(cuMemAlloc(&exch, 4), "alloc");
        must(cuMemAlloc(&usum, 8), "alloc");
        must(cuMemcpyHtoD(isum, &zero, 4), "copy");
        must(cuMemcpyHtoD(fsum, &fz, 4), "copy");
        must(cuMemcpyHtoD(umax, &uz, 4), "copy");
        must(cuMemcpyHtoD(imax, &minInt, 4), "copy");
        must(cuMemcpyHtoD(exch, &zero, 4), "copy");
        must(cuMemcpyHtoD(usum, &ullz, 8), "copy");
        must(cuLaunchKernel(function(module, "atomics"), 64, 1, 1, 128, 1, 1, 0, NULL, params, NULL), "launch atomics");
        cuMemcpyDtoH(&iv, isum, 4);
        cuMemcpyDtoH(&fv, fsum, 4);
        cuMemcpyDtoH(&uv, umax, 4);
        cuMemcpyDtoH(&ullv, usum, 8);
        check(iv == 8192, "atomicAdd int", "wrong count");
        check(fv == 2048.0f, "atomicAdd float", "wrong sum");
        check(uv == 3u * 8191u, "atomicMax unsigned", "wrong max");
        cuMemcpyDtoH(&iv, imax, 4);
        cuMemcpyDtoH(&ev, exch, 4);
        check(iv == 0 && ev == 7, "atomicMax int and atomicExch", "wrong values");
        check(ullv == 8191ull * 8192ull / 2, "atomicAdd unsigned long long", "wrong sum");
        cuMemFree(isum);
        cuMemFree(fsum);
        cuMemFree(umax);
        cuMemFree(imax);
        cuMemFree(exch);
        cuMemFree(usum);
    }

    { /* __syncthreads_count/and/or */
        int out[6], want = 0;
        void *params[] = {&dout};
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        must(cuLaunchKernel(function(module, "block_votes"), 2, 1, 1, 100, 1, 1, 0, NULL, params, NULL),
             "launch block_votes");
        cuMemcpyDtoH(out, dout, sizeof out);
        for (i = 0; i < 100; i++) want += i % 7 != 0 && i % 3 == 0;
        snprintf(detail, sizeof detail, "count %d and %d or %d, expected %d 0 1", out[3], out[4], out[5], want);
        check(out[0] == want && out[1] == 0 && out[2] == 1 && out[3] == want && out[4] == 0 && out[5] == 1,
              "__syncthreads_count, _and, _or", detail);
        cuMemFree(dout);
    }

    { /* __dp4a, min, max */
        enum { T = 64 };
        int a[T], b[T], out[T * 4];
        void *params[] = {&din, &dx, &dout};
        for (i = 0; i < T; i++) {
            a[i] = (int)(0x9e3779b9u * (unsigned)(i + 1));
            b[i] = (int)(0x85ebca6bu * (unsigned)(i + 7));
        }
        must(cuMemAlloc(&din, sizeof a), "alloc");
        must(cuMemAlloc(&dx, sizeof b), "alloc");
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        cuMemcpyHtoD(din, a, sizeof a);
        cuMemcpyHtoD(dx, b, sizeof b);
        must(cuLaunchKernel(function(module, "misc_intrinsics"), 1, 1, 1, T, 1, 1, 0, NULL, params, NULL),
             "launch misc_intrinsics");
        cuMemcpyDtoH(out, dout, sizeof out);
        ok = 1;
        for (i = 0; i < T; i++) {
            int dot = 1000;
            for (int k = 0; k < 4; k++) dot += (int)(int8_t)(a[i] >> (8 * k)) * (int)(int8_t)(b[i] >> (8 * k));
            ok &= out[i * 4] == dot && out[i * 4 + 1] == (a[i] < b[i] ? a[i] : b[i]) &&
                  out[i * 4 + 2] == (a[i] > b[i] ? a[i] : b[i]);
        }
        check(ok, "__dp4a, min, max", "wrong results");
        cuMemFree(din);
        cuMemFree(dx);
        cuMemFree(dout);
    }
}

static void test_capture_and_events(CUmodule module) {
    enum { N = 300 };
    CUstream stream;
    CUgraph graph;
    CUgraphExec exec;
    CUevent start, stop, untimed;
    CUstreamCaptureStatus status;
    CUdeviceptr dx, dy;
    float hx[N], hy[N], a = 2.0f;
    long long n = N;
    unsigned b = 1;
    void *params[] = {&dx, &dy, &a, &n, &b};
    float ms = -1;
    int i, ok;

    must(cuStreamCreate(&stream, 0), "cuStreamCreate");
    must(cuMemAlloc(&dx, sizeof hx), "alloc");
    must(cuMemAlloc(&dy, sizeof hy), "alloc");
    CUfunction f = function(module, "axpb");

    expect(cuStreamBeginCapture(NULL, CU_STREAM_CAPTURE_MODE_GLOBAL), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
           "capture of the legacy stream");
    must(cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL), "cuStreamBeginCapture");
    must(cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
    check(status == CU_STREAM_CAPTURE_STATUS_ACTIVE, "capture status active", "not active");
    for (i = 0; i < N; i++) hx[i] = -1.0f, hy[i] = -7.0f;
    must(cuMemcpyHtoDAsync(dx, hx, sizeof hx, stream), "captured HtoD");
    must(cuMemsetD32Async(dy, 0, N, stream), "captured memset");
    must(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, stream, params, NULL), "captured launch");
    must(cuMemcpyDtoHAsync(hy, dy, sizeof hy, stream), "captured DtoH");
    must(cuStreamEndCapture(stream, &graph), "cuStreamEndCapture");
    check(hy[0] == -7.0f, "captured work does not run during capture", "host output changed");
    /* Changing a launch argument after capture must not change the graph: CUDA copied the value. */
    a = 100.0f;
    must(cuGraphInstantiate(&exec, graph, 0), "cuGraphInstantiate");
    for (int round = 0; round < 2; round++) {
        for (i = 0; i < N; i++) hx[i] = (float)(i + round * 1000);
        must(cuGraphLaunch(exec, stream), "cuGraphLaunch");
        must(cuStreamSynchronize(stream), "cuStreamSynchronize");
        ok = 1;
        for (i = 0; i < N; i++) ok &= hy[i] == 2.0f * (float)(i + round * 1000) + 1.0f;
        check(ok, round == 0 ? "graph replay 1 reads current host input" : "graph replay 2 reads current host input",
              "wrong output");
    }
    must(cuGraphExecDestroy(exec), "cuGraphExecDestroy");
    must(cuGraphDestroy(graph), "cuGraphDestroy");
    expect(cuGraphDestroy(graph), CUDA_ERROR_INVALID_VALUE, "destroyed graph");

    must(cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL), "cuStreamBeginCapture");
    expect(cuMemcpyHtoD(dx, hx, sizeof hx), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "synchronous copy during capture");
    expect(cuStreamSynchronize(stream), CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "synchronize a capturing stream");
    expect(cuStreamEndCapture(stream, &graph), CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "invalidated capture");
    must(cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
    check(status == CU_STREAM_CAPTURE_STATUS_NONE, "capture ended", "still capturing");

    must(cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate");
    must(cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate");
    must(cuEventCreate(&untimed, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
    expect(cuEventElapsedTime(&ms, start, stop), CUDA_ERROR_INVALID_HANDLE, "elapsed time of unrecorded events");
    must(cuEventRecord(start, stream), "cuEventRecord");
    must(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, stream, params, NULL), "launch");
    must(cuEventRecord(stop, stream), "cuEventRecord");
    must(cuEventRecord(untimed, stream), "cuEventRecord");
    must(cuEventSynchronize(stop), "cuEventSynchronize");
    must(cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    check(ms >= 0.0f && ms < 60000.0f, "elapsed time", "out of range");
    expect(cuEventElapsedTime(&ms, start, untimed), CUDA_ERROR_INVALID_HANDLE, "elapsed time without timing");
    must(cuEventDestroy(start), "cuEventDestroy");
    must(cuEventDestroy(stop), "cuEventDestroy");
    must(cuEventDestroy(untimed), "cuEventDestroy");
    expect(cuEventDestroy(stop), CUDA_ERROR_INVALID_VALUE, "destroyed event");

    must(cuStreamDestroy(stream), "cuStreamDestroy");
    expect(cuStreamSynchronize(stream), CUDA_ERROR_INVALID_VALUE, "destroyed stream");
    cuMemFree(dx);
    cuMemFree(dy);
}

static void test_faults(CUmodule module) {
    CUdeviceptr d;
    const char *s = NULL;
    void *params[] = {&d};
    must(cuMemAlloc(&d, 1024 * sizeof(int)), "alloc");
    expect(cuLaunchKernel(function(module, "divergent_shuffle"), 1, 1, 1, 64, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_LAUNCH_FAILED, "deadlocked kernel fails the launch");
    expect(cuCtxSynchronize(), CUDA_ERROR_LAUNCH_FAILED, "deadlock reported by the next synchronize");
    expect(cuCtxSynchronize(), CUDA_SUCCESS, "the error is reported once");
    expect(cuLaunchKernel(function(module, "mismatched_shuffle"), 4, 1, 1, 32, 1, 1, 0, NULL, params, NULL),
           CUDA_ERROR_LAUNCH_FAILED, "different warp intrinsics in one warp fail the launch");
    expect(cuStreamSynchronize(NULL), CUDA_ERROR_LAUNCH_FAILED, "reported by the stream");
    {
        float out[4];
        CUdeviceptr din, dout;
        float in[256];
        int n = 256;
        void *p[] = {&din, &dout, &n};
        for (int i = 0; i < 256; i++) in[i] = 1.0f;
        must(cuMemAlloc(&din, sizeof in), "alloc");
        must(cuMemAlloc(&dout, sizeof out), "alloc");
        cuMemcpyHtoD(din, in, sizeof in);
        must(cuLaunchKernel(function(module, "block_sum"), 1, 1, 1, 256, 1, 1, 0, NULL, p, NULL),
             "launch after a failed launch");
        cuMemcpyDtoH(out, dout, 4);
        check(out[0] == 256.0f, "launches work after a failure", "wrong sum");
    }
    must(cuGetErrorName(CUDA_ERROR_NOT_FOUND, &s), "cuGetErrorName");
    check(strcmp(s, "CUDA_ERROR_NOT_FOUND") == 0, "error name", s);
    must(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s), "cuGetErrorString");
    check(strcmp(s, "out of memory") == 0, "error string", s);
    expect(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE, "name of an unknown code");
}

static int run_api(void) {
    test_device();
    test_context_and_memory();
    CUmodule module = setup();
    test_kernels(module);
    test_capture_and_events(module);
    test_faults(module);
    must(cuModuleUnload(module), "cuModuleUnload");
    expect(cuModuleUnload(module), CUDA_ERROR_INVALID_VALUE, "unloaded module");
    must(cuDevicePrimaryCtxRelease(0), "cuDevicePrimaryCtxRelease");
    must(cuDevicePrimaryCtxRelease(0), "cuDevicePrimaryCtxRelease");
    printf("done failures=%d\n", failures);
    return failures == 0 ? 0 : 1;
}

static int run_half(const char *inPath, const char *outPath) {
    FILE *fin = fopen(inPath, "rb");
    if (!fin) return perror(inPath), 2;
    fseek(fin, 0, SEEK_END);
    long bytes = ftell(fin);
    fseek(fin, 0, SEEK_SET);
    int n = (int)(bytes / 4);
    float *in = malloc((size_t)n * 4);
    unsigned short *out = malloc((size_t)n * 2);
    float *all = malloc(65536 * 4);
    if (fread(in, 4, (size_t)n, fin) != (size_t)n) return fprintf(stderr, "short read\n"), 2;
    fclose(fin);
    CUmodule module = setup();
    CUdeviceptr din, dout, dall;
    must(cuMemAlloc(&din, (size_t)n * 4), "alloc");
    must(cuMemAlloc(&dout, (size_t)n * 2), "alloc");
    must(cuMemAlloc(&dall, 65536 * 4), "alloc");
    must(cuMemcpyHtoD(din, in, (size_t)n * 4), "copy");
    void *params[] = {&din, &dout, &n, &dall};
    int threads = n > 65536 ? n : 65536;
    must(cuLaunchKernel(function(module, "half_convert"), (unsigned)(threads + 255) / 256, 1, 1, 256, 1, 1, 0, NULL,
                        params, NULL),
         "launch half_convert");
    must(cuMemcpyDtoH(out, dout, (size_t)n * 2), "copy");
    must(cuMemcpyDtoH(all, dall, 65536 * 4), "copy");
    FILE *fout = fopen(outPath, "wb");
    if (!fout) return perror(outPath), 2;
    fwrite(out, 2, (size_t)n, fout);
    fwrite(all, 4, 65536, fout);
    fclose(fout);
    printf("converted %d\n", n);
    return 0;
}

static int run_storm(void) {
    enum { BLOCKS = 50000, THREADS = 128 };
    CUmodule module = setup();
    CUdeviceptr dout;
    float *out = malloc(BLOCKS * 4 * sizeof(float));
    void *params[] = {&dout};
    must(cuMemAlloc(&dout, BLOCKS * 4 * sizeof(float)), "alloc");
    double t0 = now_ms();
    must(cuLaunchKernel(function(module, "shuffle_storm"), BLOCKS, 1, 1, THREADS, 1, 1, 0, NULL, params, NULL),
         "launch shuffle_storm");
    double t1 = now_ms();
    must(cuMemcpyDtoH(out, dout, BLOCKS * 4 * sizeof(float)), "copy");
    /* Five rounds of two xor steps (distances 1, 2) each multiply every lane's value by 4 within its quad; lane 0's
     * quad holds base+0..3 where base = blockIdx.x + warp * 32. */
    int ok = 1;
    for (int b = 0; b < BLOCKS && ok; b++) {
        for (int w = 0; w < 4; w++) {
            double base = (double)b + w * 32;
            double want = (4 * base + 6) * 256.0;
            if (fabs(out[b * 4 + w] - want) > want * 1e-6) {
                printf("FAIL storm block %d warp %d: %g, expected %g\n", b, w, out[b * 4 + w], want);
                ok = 0;
                break;
            }
        }
    }
    double shuffles = (double)BLOCKS * THREADS * 10;
    printf("storm %d blocks x %d threads: %.0f ms, %.1f million shuffle arrivals per second\n", BLOCKS, THREADS,
           t1 - t0, shuffles / ((t1 - t0) / 1e3) / 1e6);
    printf(ok ? "storm ok\n" : "storm wrong results\n");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "api") == 0) return run_api();
    if (argc >= 4 && strcmp(argv[1], "half") == 0) return run_half(argv[2], argv[3]);
    if (argc >= 2 && strcmp(argv[1], "storm") == 0) return run_storm();
    fprintf(stderr, "usage: selftest_main api | half IN OUT | storm\n");
    return 2;
}
