// A stand-in for libcuda.so: the driver API subset Catnap uses, backed by host memory and the fiber runtime.
//
// cuda.h is included so that every definition below is checked against the real prototype; its macros rename
// e.g. cuMemAlloc to cuMemAlloc_v2, so the exported symbols are the ones a real client resolves.
#include <cuda.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emu_internal.h"

#define API extern "C" __attribute__((visibility("default")))

// Handle types are opaque in cuda.h; these are the emulator's definitions of them.
struct CUctx_st {
    int refs = 0;
};
struct CUmod_st {
    bool loaded = true;
};
struct CUfunc_st {
    CUmod_st *module;
    const catnap_emu::KernelEntry *kernel;
};
struct CUevent_st {
    unsigned flags;
    bool recorded = false;
    std::chrono::steady_clock::time_point time;
};

namespace {

using Clock = std::chrono::steady_clock;

// One captured or replayed operation. Kernel arguments are copied by value when captured, as CUDA does; memcpy
// sources are read when the graph runs, as CUDA's memcpy nodes do.
struct Node {
    enum Kind { KERNEL, MEMCPY, MEMSET, EVENT } kind;
    const catnap_emu::KernelEntry *kernel = nullptr;
    catnap_emu::Dim grid{}, block{};
    std::vector<unsigned char> args;
    std::vector<size_t> argOffsets;
    void *dst = nullptr;
    const void *src = nullptr;
    size_t bytes = 0;
    unsigned value = 0;
    unsigned elementSize = 0;
    CUevent_st *event = nullptr;
};

}  // namespace

struct CUgraph_st {
    std::vector<Node> nodes;
};
struct CUgraphExec_st {
    std::vector<Node> nodes;
};
struct CUstream_st {
    unsigned flags;
    bool capturing = false;
    bool invalidated = false;
    CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
    std::thread::id captureThread;
    std::unique_ptr<CUgraph_st> graph;
};

namespace {

constexpr size_t kTotalMemory = 8ull << 30;
constexpr const char *kDeviceName = "Catnap CUDA emulator";

struct State {
    std::mutex mu;  // guards everything below; kernels run outside it
    bool initialized = false;
    CUctx_st primary;
    size_t used = 0;
    std::map<uintptr_t, size_t> device;  // base -> size
    std::map<uintptr_t, size_t> host;    // pinned host allocations, also addressable by the device (UVA)
    std::set<CUmod_st *> modules;
    std::set<CUfunc_st *> functions;
    std::set<CUstream_st *> streams;
    std::set<CUevent_st *> events;
    std::set<CUgraph_st *> graphs;
    std::set<CUgraphExec_st *> execs;
    std::string lastError;
    CUresult pendingError = CUDA_SUCCESS;  // reported once by the next synchronize call, like an async fault
};

State &state() {
    static State *s = new State();  // never destroyed: clients may call in from exit handlers
    return *s;
}

thread_local CUctx_st *tl_current = nullptr;

CUresult check_init() { return state().initialized ? CUDA_SUCCESS : CUDA_ERROR_NOT_INITIALIZED; }

CUresult check_ctx() {
    if (!state().initialized) return CUDA_ERROR_NOT_INITIALIZED;
    if (tl_current == nullptr || tl_current->refs <= 0) return CUDA_ERROR_INVALID_CONTEXT;
    return CUDA_SUCCESS;
}

#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        CUresult r_ = (expr);                                                                                          \
        if (r_ != CUDA_SUCCESS) return r_;                                                                             \
    } while (0)

bool in_ranges(const std::map<uintptr_t, size_t> &m, uintptr_t p, size_t n) {
    auto it = m.upper_bound(p);
    if (it == m.begin()) return false;
    --it;
    return p >= it->first && p + n <= it->first + it->second && p + n >= p;
}

// Device-side addresses must lie inside one allocation: a bad size from the bindings would otherwise scribble over
// the test JVM's heap instead of failing like the driver does.
bool device_range(uintptr_t p, size_t n) {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    return in_ranges(s.device, p, n) || in_ranges(s.host, p, n);
}

bool is_legacy(CUstream s) { return s == nullptr || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD; }

CUstream_st *capturing_blocking_stream() {
    for (CUstream_st *st : state().streams)
        if (st->capturing && !(st->flags & CU_STREAM_NON_BLOCKING)) return st;
    return nullptr;
}

// Resolves a stream argument. *capture is set when operations on it must be recorded instead of run.
CUresult resolve_stream(CUstream stream, CUstream_st **capture) {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    *capture = nullptr;
    if (is_legacy(stream)) {
        // The legacy stream synchronizes with every blocking stream, which capture forbids.
        if (stream != CU_STREAM_PER_THREAD) {
            if (CUstream_st *st = capturing_blocking_stream()) {
                st->invalidated = true;
                return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
            }
        }
        return CUDA_SUCCESS;
    }
    if (!s.streams.count(stream)) return CUDA_ERROR_INVALID_VALUE;
    if (stream->capturing) {
        if (stream->invalidated) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
        *capture = stream;
    }
    return CUDA_SUCCESS;
}

// Synchronous APIs (cuMemcpyHtoD, cuMemAlloc, cuCtxSynchronize...) are "potentially unsafe" during a global-mode
// capture, or a thread-local one from the capturing thread: the driver fails them and invalidates the capture.
CUresult check_unsafe_during_capture() {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    for (CUstream_st *st : s.streams) {
        if (!st->capturing) continue;
        bool applies = st->mode == CU_STREAM_CAPTURE_MODE_GLOBAL ||
                       (st->mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL && st->captureThread == std::this_thread::get_id());
        if (applies) {
            st->invalidated = true;
            return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
        }
    }
    return CUDA_SUCCESS;
}

CUresult take_pending_error() {
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    CUresult r = s.pendingError;
    s.pendingError = CUDA_SUCCESS;
    return r;
}

CUresult run_node(const Node &n) {
    switch (n.kind) {
    case Node::KERNEL: {
        std::vector<void *> params(n.argOffsets.size());
        for (size_t i = 0; i < params.size(); i++)
            params[i] = const_cast<unsigned char *>(n.args.data() + n.argOffsets[i]);
        std::string error;
        if (!catnap_emu::run_grid(n.kernel, params.data(), n.grid, n.block, error)) {
            State &s = state();
            std::lock_guard<std::mutex> lock(s.mu);
            s.lastError = error;
            s.pendingError = CUDA_ERROR_LAUNCH_FAILED;
            return CUDA_ERROR_LAUNCH_FAILED;
        }
        return CUDA_SUCCESS;
    }
    case Node::MEMCPY:
        memmove(n.dst, n.src, n.bytes);
        return CUDA_SUCCESS;
    case Node::MEMSET:
        if (n.elementSize == 1) {
            memset(n.dst, (int)n.value, n.bytes);
        } else {
            uint32_t *d = static_cast<uint32_t *>(n.dst);
            for (size_t i = 0; i < n.bytes / 4; i++) d[i] = n.value;
        }
        return CUDA_SUCCESS;
    case Node::EVENT:
        n.event->recorded = true;
        n.event->time = Clock::now();
        return CUDA_SUCCESS;
    }
    return CUDA_ERROR_UNKNOWN;
}

// Runs now, or appends to the capturing stream's graph.
CUresult submit(CUstream stream, Node node) {
    CUstream_st *capture;
    TRY(resolve_stream(stream, &capture));
    if (capture) {
        std::lock_guard<std::mutex> lock(state().mu);
        capture->graph->nodes.push_back(std::move(node));
        return CUDA_SUCCESS;
    }
    return run_node(node);
}

CUresult copy(void *dst, const void *src, size_t n, bool dstDevice, bool srcDevice, CUstream stream, bool async) {
    TRY(check_ctx());
    if (!async) TRY(check_unsafe_during_capture());
    if (n == 0) return CUDA_SUCCESS;
    if (dst == nullptr || src == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (dstDevice && !device_range((uintptr_t)dst, n)) return CUDA_ERROR_INVALID_VALUE;
    if (srcDevice && !device_range((uintptr_t)src, n)) return CUDA_ERROR_INVALID_VALUE;
    Node node;
    node.kind = Node::MEMCPY;
    node.dst = dst;
    node.src = src;
    node.bytes = n;
    return submit(async ? stream : nullptr, std::move(node));
}

CUresult fill(CUdeviceptr dst, unsigned value, size_t count, unsigned elementSize, CUstream stream, bool async) {
    TRY(check_ctx());
    if (!async) TRY(check_unsafe_during_capture());
    if (count == 0) return CUDA_SUCCESS;
    size_t bytes = count * elementSize;
    if (elementSize == 4 && dst % 4 != 0) return CUDA_ERROR_INVALID_VALUE;
    if (!device_range(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
    Node node;
    node.kind = Node::MEMSET;
    node.dst = reinterpret_cast<void *>(dst);
    node.bytes = bytes;
    node.value = value;
    node.elementSize = elementSize;
    return submit(async ? stream : nullptr, std::move(node));
}

struct ErrorText {
    CUresult code;
    const char *name;
    const char *text;
};
const ErrorText kErrors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_DEINITIALIZED, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {CUDA_ERROR_LAUNCH_TIMEOUT, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
    {CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
    {CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
    {CUDA_ERROR_STREAM_CAPTURE_UNMATCHED, "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED", "capture was not initiated in this stream"},
    {CUDA_ERROR_STREAM_CAPTURE_IMPLICIT, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "operation would make the legacy stream depend on a capturing blocking stream"},
    {CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD, "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD", "attempt to terminate a thread-local capture sequence from another thread"},
    {CUDA_ERROR_ILLEGAL_STATE, "CUDA_ERROR_ILLEGAL_STATE", "the operation is not permitted in the current state"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

}  // namespace

API CUresult CUDAAPI cuGetErrorName(CUresult error, const char **pStr) {
    if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
    for (const ErrorText &e : kErrors)
        if (e.code == error) return *pStr = e.name, CUDA_SUCCESS;
    *pStr = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
}

API CUresult CUDAAPI cuGetErrorString(CUresult error, const char **pStr) {
    if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
    for (const ErrorText &e : kErrors)
        if (e.code == error) return *pStr = e.text, CUDA_SUCCESS;
    *pStr = nullptr;
    return CUDA_ERROR_INVALID_VALUE;
}

API CUresult CUDAAPI cuInit(unsigned int Flags) {
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> lock(state().mu);
    state().initialized = true;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDriverGetVersion(int *driverVersion) {
    if (driverVersion == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = 13000;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDeviceGetCount(int *count) {
    TRY(check_init());
    if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDeviceGet(CUdevice *device, int ordinal) {
    TRY(check_init());
    if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice dev) {
    TRY(check_init());
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (name == nullptr || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", kDeviceName);
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice dev) {
    TRY(check_init());
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (bytes == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *bytes = kTotalMemory;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) {
    TRY(check_init());
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (pi == nullptr) return CUDA_ERROR_INVALID_VALUE;
    // An H100-like sm_90 part, so code that sizes grids from these values behaves as on the real target.
    switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = 9; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 132; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *pi = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *pi = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *pi = 64; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *pi = 2147483647; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *pi = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *pi = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *pi = 49152; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *pi = 232448; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *pi = 233472; break;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *pi = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *pi = 2048; break;
    case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *pi = 65536; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *pi = 52428800; break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *pi = 1755000; break;
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *pi = 2619000; break;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *pi = 5120; break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *pi = 1; break;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *pi = 1; break;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *pi = 2; break;
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: *pi = 1; break;
    case CU_DEVICE_ATTRIBUTE_INTEGRATED: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: *pi = CU_COMPUTEMODE_DEFAULT; break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_TCC_DRIVER: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: *pi = 0; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: *pi = 32; break;
    case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD: *pi = 0; break;
    default:
        // Answering 0 would look like a real value; make the gap visible instead.
        fprintf(stderr, "catnap-cuda-emu: device attribute %d is not modelled (add it to fake_libcuda.cpp)\n",
                (int)attrib);
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) {
    TRY(check_init());
    if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    std::lock_guard<std::mutex> lock(state().mu);
    state().primary.refs++;
    *pctx = &state().primary;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice dev) {
    TRY(check_init());
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    std::lock_guard<std::mutex> lock(state().mu);
    if (state().primary.refs <= 0) return CUDA_ERROR_INVALID_CONTEXT;
    state().primary.refs--;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuCtxSetCurrent(CUcontext ctx) {
    TRY(check_init());
    if (ctx != nullptr && ctx != &state().primary) return CUDA_ERROR_INVALID_CONTEXT;
    tl_current = ctx;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pctx) {
    TRY(check_init());
    if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *pctx = tl_current;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuCtxGetDevice(CUdevice *device) {
    TRY(check_ctx());
    if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *device = 0;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuCtxSynchronize(void) {
    TRY(check_ctx());
    TRY(check_unsafe_during_capture());
    return take_pending_error();
}

API CUresult CUDAAPI cuMemGetInfo(size_t *free, size_t *total) {
    TRY(check_ctx());
    if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> lock(state().mu);
    *free = kTotalMemory - state().used;
    *total = kTotalMemory;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dptr, size_t bytesize) {
    TRY(check_ctx());
    if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    TRY(check_unsafe_during_capture());
    State &s = state();
    {
        std::lock_guard<std::mutex> lock(s.mu);
        if (bytesize > kTotalMemory - s.used) return CUDA_ERROR_OUT_OF_MEMORY;
        s.used += bytesize;
    }
    size_t rounded = (bytesize + 255) / 256 * 256;
    void *p = aligned_alloc(256, rounded);
    if (p == nullptr) {
        std::lock_guard<std::mutex> lock(s.mu);
        s.used -= bytesize;
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    // Device memory starts with whatever was there; a NaN/-1 pattern makes reads of unwritten memory show up in
    // test results instead of passing by luck on zeroed pages.
    memset(p, 0xff, rounded);
    std::lock_guard<std::mutex> lock(s.mu);
    s.device[(uintptr_t)p] = bytesize;
    *dptr = (CUdeviceptr)(uintptr_t)p;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuMemFree(CUdeviceptr dptr) {
    TRY(check_ctx());
    if (dptr == 0) return CUDA_SUCCESS;
    TRY(check_unsafe_during_capture());
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.device.find((uintptr_t)dptr);
    if (it == s.device.end()) return CUDA_ERROR_INVALID_VALUE;
    s.used -= it->second;
    s.device.erase(it);
    free(reinterpret_cast<void *>(dptr));
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuMemAllocHost(void **pp, size_t bytesize) {
    TRY(check_ctx());
    if (pp == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    void *p = aligned_alloc(256, (bytesize + 255) / 256 * 256);
    if (p == nullptr) return CUDA_ERROR_OUT_OF_MEMORY;
    std::lock_guard<std::mutex> lock(state().mu);
    state().host[(uintptr_t)p] = bytesize;
    *pp = p;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuMemFreeHost(void *p) {
    TRY(check_ctx());
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.host.find((uintptr_t)p);
    if (it == s.host.end()) return CUDA_ERROR_INVALID_VALUE;
    s.host.erase(it);
    free(p);
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount) {
    return copy(reinterpret_cast<void *>(dstDevice), srcHost, ByteCount, true, false, nullptr, false);
}
API CUresult CUDAAPI cuMemcpyDtoH(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount) {
    return copy(dstHost, reinterpret_cast<void *>(srcDevice), ByteCount, false, true, nullptr, false);
}
API CUresult CUDAAPI cuMemcpyDtoD(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount) {
    return copy(reinterpret_cast<void *>(dstDevice), reinterpret_cast<void *>(srcDevice), ByteCount, true, true,
                nullptr, false);
}
API CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream) {
    return copy(reinterpret_cast<void *>(dstDevice), srcHost, ByteCount, true, false, hStream, true);
}
API CUresult CUDAAPI cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    return copy(dstHost, reinterpret_cast<void *>(srcDevice), ByteCount, false, true, hStream, true);
}
API CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    return copy(reinterpret_cast<void *>(dstDevice), reinterpret_cast<void *>(srcDevice), ByteCount, true, true,
                hStream, true);
}
API CUresult CUDAAPI cuMemsetD8(CUdeviceptr dstDevice, unsigned char uc, size_t N) {
    return fill(dstDevice, uc, N, 1, nullptr, false);
}
API CUresult CUDAAPI cuMemsetD32(CUdeviceptr dstDevice, unsigned int ui, size_t N) {
    return fill(dstDevice, ui, N, 4, nullptr, false);
}
API CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream) {
    return fill(dstDevice, uc, N, 1, hStream, true);
}
API CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) {
    return fill(dstDevice, ui, N, 4, hStream, true);
}

API CUresult CUDAAPI cuModuleLoadData(CUmodule *module, const void *image) {
    TRY(check_ctx());
    // The image (PTX or cubin from nvcc) cannot run here; its kernels were compiled into this library instead.
    if (module == nullptr || image == nullptr) return CUDA_ERROR_INVALID_VALUE;
    CUmod_st *m = new CUmod_st();
    std::lock_guard<std::mutex> lock(state().mu);
    state().modules.insert(m);
    *module = m;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuModuleUnload(CUmodule hmod) {
    TRY(check_ctx());
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.modules.erase(hmod)) return CUDA_ERROR_INVALID_VALUE;
    for (auto it = s.functions.begin(); it != s.functions.end();) {
        if ((*it)->module == hmod) {
            delete *it;
            it = s.functions.erase(it);
        } else {
            ++it;
        }
    }
    delete hmod;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) {
    TRY(check_ctx());
    if (hfunc == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.modules.count(hmod)) return CUDA_ERROR_INVALID_VALUE;
    const catnap_emu::KernelEntry *k = catnap_emu::find_kernel(name);
    if (k == nullptr) return CUDA_ERROR_NOT_FOUND;
    for (CUfunc_st *f : s.functions) {
        if (f->module == hmod && f->kernel == k) {
            *hfunc = f;
            return CUDA_SUCCESS;
        }
    }
    CUfunc_st *f = new CUfunc_st{hmod, k};
    s.functions.insert(f);
    *hfunc = f;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value) {
    TRY(check_ctx());
    {
        std::lock_guard<std::mutex> lock(state().mu);
        if (!state().functions.count(hfunc)) return CUDA_ERROR_INVALID_VALUE;
    }
    switch (attrib) {
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES:
        return value >= 0 && value <= 232448 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
        return value >= -1 && value <= 100 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_WIDTH:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_HEIGHT:
    case CU_FUNC_ATTRIBUTE_REQUIRED_CLUSTER_DEPTH:
    case CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED:
    case CU_FUNC_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
        return CUDA_SUCCESS;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
}

API CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                                    unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                                    unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra) {
    TRY(check_ctx());
    const catnap_emu::KernelEntry *k;
    {
        std::lock_guard<std::mutex> lock(state().mu);
        if (!state().functions.count(f)) return CUDA_ERROR_INVALID_VALUE;
        k = f->kernel;
    }
    if (gridDimX == 0 || gridDimY == 0 || gridDimZ == 0 || gridDimY > 65535 || gridDimZ > 65535 ||
        gridDimX > 2147483647u)
        return CUDA_ERROR_INVALID_VALUE;
    if (blockDimX == 0 || blockDimY == 0 || blockDimZ == 0 || blockDimX > 1024 || blockDimY > 1024 ||
        blockDimZ > 64 || (unsigned long long)blockDimX * blockDimY * blockDimZ > 1024)
        return CUDA_ERROR_INVALID_VALUE;
    // The emulated kernels declare all shared memory statically; dynamic shared memory is not modelled.
    if (sharedMemBytes > 0 || extra != nullptr) {
        fprintf(stderr, "catnap-cuda-emu: cuLaunchKernel(%s): %s is not emulated\n", k->name,
                sharedMemBytes > 0 ? "dynamic shared memory" : "the `extra` parameter buffer");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    if (k->argCount > 0 && kernelParams == nullptr) return CUDA_ERROR_INVALID_VALUE;
    Node node;
    node.kind = Node::KERNEL;
    node.kernel = k;
    node.grid = {gridDimX, gridDimY, gridDimZ};
    node.block = {blockDimX, blockDimY, blockDimZ};
    // Copy argument values now: CUDA reads them at launch, so the caller may reuse its buffers right after.
    for (unsigned i = 0; i < k->argCount; i++) {
        if (kernelParams[i] == nullptr) return CUDA_ERROR_INVALID_VALUE;
        size_t off = (node.args.size() + 7) / 8 * 8;
        node.args.resize(off + k->argSizes[i]);
        memcpy(node.args.data() + off, kernelParams[i], k->argSizes[i]);
        node.argOffsets.push_back(off);
    }
    return submit(hStream, std::move(node));
}

API CUresult CUDAAPI cuStreamCreate(CUstream *phStream, unsigned int Flags) {
    TRY(check_ctx());
    if (phStream == nullptr || (Flags & ~CU_STREAM_NON_BLOCKING) != 0) return CUDA_ERROR_INVALID_VALUE;
    CUstream_st *s = new CUstream_st();
    s->flags = Flags;
    std::lock_guard<std::mutex> lock(state().mu);
    state().streams.insert(s);
    *phStream = s;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuStreamDestroy(CUstream hStream) {
    TRY(check_ctx());
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().streams.erase(hStream)) return CUDA_ERROR_INVALID_VALUE;
    delete hStream;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuStreamSynchronize(CUstream hStream) {
    TRY(check_ctx());
    if (!is_legacy(hStream)) {
        State &s = state();
        std::lock_guard<std::mutex> lock(s.mu);
        if (!s.streams.count(hStream)) return CUDA_ERROR_INVALID_VALUE;
        if (hStream->capturing) {
            hStream->invalidated = true;
            return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
        }
    } else {
        CUstream_st *capture;
        TRY(resolve_stream(hStream, &capture));
    }
    return take_pending_error();
}

API CUresult CUDAAPI cuStreamQuery(CUstream hStream) {
    TRY(check_ctx());
    CUstream_st *capture;
    TRY(resolve_stream(hStream, &capture));
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuStreamBeginCapture(CUstream hStream, CUstreamCaptureMode mode) {
    TRY(check_ctx());
    if (is_legacy(hStream)) return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    if (mode != CU_STREAM_CAPTURE_MODE_GLOBAL && mode != CU_STREAM_CAPTURE_MODE_THREAD_LOCAL &&
        mode != CU_STREAM_CAPTURE_MODE_RELAXED)
        return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().streams.count(hStream)) return CUDA_ERROR_INVALID_VALUE;
    if (hStream->capturing) return CUDA_ERROR_ILLEGAL_STATE;
    hStream->capturing = true;
    hStream->invalidated = false;
    hStream->mode = mode;
    hStream->captureThread = std::this_thread::get_id();
    hStream->graph.reset(new CUgraph_st());
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) {
    TRY(check_ctx());
    if (phGraph == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (is_legacy(hStream)) return CUDA_ERROR_ILLEGAL_STATE;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.streams.count(hStream)) return CUDA_ERROR_INVALID_VALUE;
    if (!hStream->capturing) return CUDA_ERROR_ILLEGAL_STATE;
    if (hStream->mode == CU_STREAM_CAPTURE_MODE_THREAD_LOCAL && hStream->captureThread != std::this_thread::get_id())
        return CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD;
    hStream->capturing = false;
    std::unique_ptr<CUgraph_st> graph = std::move(hStream->graph);
    if (hStream->invalidated) {
        *phGraph = nullptr;
        return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
    }
    CUgraph_st *g = graph.release();
    s.graphs.insert(g);
    *phGraph = g;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus) {
    TRY(check_ctx());
    if (captureStatus == nullptr) return CUDA_ERROR_INVALID_VALUE;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (is_legacy(hStream)) {
        *captureStatus = CU_STREAM_CAPTURE_STATUS_NONE;
        if (hStream != CU_STREAM_PER_THREAD && capturing_blocking_stream()) return CUDA_ERROR_STREAM_CAPTURE_IMPLICIT;
        return CUDA_SUCCESS;
    }
    if (!s.streams.count(hStream)) return CUDA_ERROR_INVALID_VALUE;
    *captureStatus = !hStream->capturing    ? CU_STREAM_CAPTURE_STATUS_NONE
                     : hStream->invalidated ? CU_STREAM_CAPTURE_STATUS_INVALIDATED
                                            : CU_STREAM_CAPTURE_STATUS_ACTIVE;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags) {
    TRY(check_ctx());
    if (phGraphExec == nullptr) return CUDA_ERROR_INVALID_VALUE;
    (void)flags;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.graphs.count(hGraph)) return CUDA_ERROR_INVALID_VALUE;
    CUgraphExec_st *e = new CUgraphExec_st{hGraph->nodes};
    s.execs.insert(e);
    *phGraphExec = e;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) {
    TRY(check_ctx());
    {
        std::lock_guard<std::mutex> lock(state().mu);
        if (!state().execs.count(hGraphExec)) return CUDA_ERROR_INVALID_VALUE;
    }
    CUstream_st *capture;
    TRY(resolve_stream(hStream, &capture));
    if (capture) {
        // A graph launched into a capture becomes part of the captured graph.
        std::lock_guard<std::mutex> lock(state().mu);
        for (const Node &n : hGraphExec->nodes) capture->graph->nodes.push_back(n);
        return CUDA_SUCCESS;
    }
    for (const Node &n : hGraphExec->nodes) TRY(run_node(n));
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuGraphExecDestroy(CUgraphExec hGraphExec) {
    TRY(check_ctx());
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().execs.erase(hGraphExec)) return CUDA_ERROR_INVALID_VALUE;
    delete hGraphExec;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuGraphDestroy(CUgraph hGraph) {
    TRY(check_ctx());
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().graphs.erase(hGraph)) return CUDA_ERROR_INVALID_VALUE;
    delete hGraph;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuEventCreate(CUevent *phEvent, unsigned int Flags) {
    TRY(check_ctx());
    if (phEvent == nullptr ||
        (Flags & ~(unsigned)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING | CU_EVENT_INTERPROCESS)) != 0)
        return CUDA_ERROR_INVALID_VALUE;
    CUevent_st *e = new CUevent_st();
    e->flags = Flags;
    std::lock_guard<std::mutex> lock(state().mu);
    state().events.insert(e);
    *phEvent = e;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuEventRecord(CUevent hEvent, CUstream hStream) {
    TRY(check_ctx());
    {
        std::lock_guard<std::mutex> lock(state().mu);
        if (!state().events.count(hEvent)) return CUDA_ERROR_INVALID_VALUE;
    }
    Node node;
    node.kind = Node::EVENT;
    node.event = hEvent;
    return submit(hStream, std::move(node));
}

API CUresult CUDAAPI cuEventQuery(CUevent hEvent) {
    TRY(check_ctx());
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().events.count(hEvent)) return CUDA_ERROR_INVALID_VALUE;
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuEventSynchronize(CUevent hEvent) {
    TRY(check_ctx());
    {
        std::lock_guard<std::mutex> lock(state().mu);
        if (!state().events.count(hEvent)) return CUDA_ERROR_INVALID_VALUE;
    }
    return take_pending_error();
}

API CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd) {
    TRY(check_ctx());
    if (pMilliseconds == nullptr) return CUDA_ERROR_INVALID_VALUE;
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().events.count(hStart) || !state().events.count(hEnd)) return CUDA_ERROR_INVALID_VALUE;
    if ((hStart->flags | hEnd->flags) & CU_EVENT_DISABLE_TIMING) return CUDA_ERROR_INVALID_HANDLE;
    if (!hStart->recorded || !hEnd->recorded) return CUDA_ERROR_INVALID_HANDLE;
    *pMilliseconds = std::chrono::duration<float, std::milli>(hEnd->time - hStart->time).count();
    return CUDA_SUCCESS;
}

API CUresult CUDAAPI cuEventDestroy(CUevent hEvent) {
    TRY(check_ctx());
    std::lock_guard<std::mutex> lock(state().mu);
    if (!state().events.erase(hEvent)) return CUDA_ERROR_INVALID_VALUE;
    delete hEvent;
    return CUDA_SUCCESS;
}

// Older clients resolve the pre-_v2 name; same semantics.
#undef cuEventElapsedTime
API CUresult CUDAAPI cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)
    __attribute__((alias("cuEventElapsedTime_v2")));

// For tests: the message of the last failed launch (deadlock, divergent warp operation, __trap).
API const char *catnap_emu_last_error() {
    static thread_local std::string copy;
    std::lock_guard<std::mutex> lock(state().mu);
    copy = state().lastError;
    return copy.c_str();
}
