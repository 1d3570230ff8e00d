// CUDA C device-side vocabulary for compiling real kernels as host C++ (tests only).
//
// Force-included by build.sh: g++ -include cuda_emu.h -DCATNAP_EMU -x c++ kernels.cu
// Every kernel thread runs as a fiber; the fibers of one block share one OS thread and switch only inside
// __syncthreads and the warp intrinsics (see cuda_emu_runtime.cpp). Anything a kernel may use must be declared here.
#ifndef CATNAP_CUDA_EMU_H
#define CATNAP_CUDA_EMU_H

#ifndef __cplusplus
#error "cuda_emu.h compiles CUDA C as C++: pass -x c++"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

// Execution space and hint qualifiers carry no meaning on the host.
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __align__(n) alignas(n)
// The scanner in build.sh looks for `extern "C" __global__ void NAME(` in preprocessed source, so the token must
// survive preprocessing there.
#ifndef CATNAP_EMU_SCAN
#define __global__
#endif
// The blocks of a grid run one at a time per OS thread, so per-OS-thread storage is per-block storage.
#define __shared__ static thread_local

struct uint3 { unsigned int x, y, z; };
struct int3 { int x, y, z; };
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

namespace catnap_emu {

struct Fiber;

// Per OS thread: the block being run and the fiber running now. Plain __thread (no C++ TLS wrapper) because these
// are read on every threadIdx/blockIdx access.
struct Tls {
    Fiber *self;
    uint3 blockIdx;
    uint3 blockDim;
    uint3 gridDim;
};

// Fields the kernel side reads directly; the runtime owns the rest of the fiber.
struct FiberView {
    uint3 threadIdx;
    unsigned int lane;
};

enum WarpOp : int {
    OP_SHFL = 1, OP_SHFL_UP, OP_SHFL_DOWN, OP_SHFL_XOR, OP_BALLOT, OP_ANY, OP_ALL, OP_SYNCWARP
};

}  // namespace catnap_emu

extern __thread catnap_emu::Tls catnap_emu_tls;

extern "C" {
void catnap_emu_syncthreads();
uint64_t catnap_emu_syncthreads_count(int predicate);
// Rendezvous of the lanes named in `mask` (minus exited ones). Each lane publishes `value` and names the lane whose
// value it wants back (`source`); the result is computed for every lane when the last one arrives, so no lane can
// overwrite a value another lane has not read yet. Vote operations return (participants << 32 | ballot).
uint64_t catnap_emu_warp_exchange(unsigned int mask, uint64_t value, int op, unsigned int source);
[[noreturn]] void catnap_emu_trap(const char *what);
}

#define threadIdx (static_cast<const uint3 &>(reinterpret_cast<const ::catnap_emu::FiberView *>(catnap_emu_tls.self)->threadIdx))
#define blockIdx (static_cast<const uint3 &>(catnap_emu_tls.blockIdx))
#define blockDim (static_cast<const uint3 &>(catnap_emu_tls.blockDim))
#define gridDim (static_cast<const uint3 &>(catnap_emu_tls.gridDim))
static constexpr int warpSize = 32;

namespace catnap_emu {
inline unsigned int lane_id() { return reinterpret_cast<const FiberView *>(catnap_emu_tls.self)->lane; }

template <class T> inline uint64_t to_bits(T v) {
    static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "warp exchange supports values up to 8 bytes");
    uint64_t b = 0;
    std::memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T> inline T from_bits(uint64_t b) {
    T v;
    std::memcpy(&v, &b, sizeof(T));
    return v;
}
}  // namespace catnap_emu

inline void __syncthreads() { catnap_emu_syncthreads(); }
// Barrier plus block-wide count of true predicates; returns (participants << 32 | count).
inline int __syncthreads_count(int predicate) { return (int)(uint32_t)catnap_emu_syncthreads_count(predicate); }
inline int __syncthreads_or(int predicate) { return (uint32_t)catnap_emu_syncthreads_count(predicate) != 0; }
inline int __syncthreads_and(int predicate) {
    uint64_t r = catnap_emu_syncthreads_count(predicate);
    return (uint32_t)r == (uint32_t)(r >> 32);
}
inline void __syncwarp(unsigned int mask = 0xffffffffu) { catnap_emu_warp_exchange(mask, 0, catnap_emu::OP_SYNCWARP, 0); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
[[noreturn]] inline void __trap() { catnap_emu_trap("__trap() called"); }

// Shuffles follow the PTX rules for `width`: lanes form segments of `width`; a source outside the caller's segment
// (down/xor: later segments, up: earlier ones) yields the caller's own value.
namespace catnap_emu {
template <class T> inline T shuffle(unsigned int mask, T var, int op, unsigned int source) {
    return from_bits<T>(catnap_emu_warp_exchange(mask, to_bits(var), op, source));
}
inline unsigned int segment_base(unsigned int lane, int width) { return lane & ~(unsigned int)(width - 1); }
inline uint64_t vote(unsigned int mask, int predicate, int op) {
    return catnap_emu_warp_exchange(mask, predicate != 0, op, lane_id());
}
}  // namespace catnap_emu

template <class T> inline T __shfl_sync(unsigned int mask, T var, int srcLane, int width = 32) {
    unsigned int lane = catnap_emu::lane_id();
    unsigned int src = catnap_emu::segment_base(lane, width) + ((unsigned int)srcLane & (unsigned int)(width - 1));
    return catnap_emu::shuffle(mask, var, catnap_emu::OP_SHFL, src);
}
template <class T> inline T __shfl_up_sync(unsigned int mask, T var, unsigned int delta, int width = 32) {
    unsigned int lane = catnap_emu::lane_id();
    unsigned int src = lane - catnap_emu::segment_base(lane, width) < delta ? lane : lane - delta;
    return catnap_emu::shuffle(mask, var, catnap_emu::OP_SHFL_UP, src);
}
template <class T> inline T __shfl_down_sync(unsigned int mask, T var, unsigned int delta, int width = 32) {
    unsigned int lane = catnap_emu::lane_id();
    unsigned int src = lane - catnap_emu::segment_base(lane, width) + delta >= (unsigned int)width ? lane : lane + delta;
    return catnap_emu::shuffle(mask, var, catnap_emu::OP_SHFL_DOWN, src);
}
template <class T> inline T __shfl_xor_sync(unsigned int mask, T var, int laneMask, int width = 32) {
    unsigned int lane = catnap_emu::lane_id();
    unsigned int src = lane ^ (unsigned int)laneMask;
    if (src >= catnap_emu::segment_base(lane, width) + (unsigned int)width || src >= 32) src = lane;
    return catnap_emu::shuffle(mask, var, catnap_emu::OP_SHFL_XOR, src);
}
inline unsigned int __ballot_sync(unsigned int mask, int predicate) {
    return (unsigned int)catnap_emu::vote(mask, predicate, catnap_emu::OP_BALLOT);
}
inline int __any_sync(unsigned int mask, int predicate) {
    return (unsigned int)catnap_emu::vote(mask, predicate, catnap_emu::OP_ANY) != 0;
}
inline int __all_sync(unsigned int mask, int predicate) {
    uint64_t v = catnap_emu::vote(mask, predicate, catnap_emu::OP_ALL);
    return (unsigned int)v == (unsigned int)(v >> 32);
}

// Atomics: blocks of one grid run on several OS threads, so these must be real atomic RMWs.
namespace catnap_emu {
template <class T, class F> inline T atomic_update(T *p, F f) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(p, &old, f(old), true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
    }
    return old;
}
template <class F> inline float atomic_update_float(float *p, F f) {
    uint32_t *u = reinterpret_cast<uint32_t *>(p);
    uint32_t old = __atomic_load_n(u, __ATOMIC_RELAXED);
    for (;;) {
        float o;
        std::memcpy(&o, &old, 4);
        float n = f(o);
        uint32_t nb;
        std::memcpy(&nb, &n, 4);
        if (__atomic_compare_exchange_n(u, &old, nb, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return o;
    }
}
}  // namespace catnap_emu

#define CATNAP_EMU_INT_ATOMICS(T)                                                                                      \
    inline T atomicAdd(T *p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }                               \
    inline T atomicSub(T *p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }                               \
    inline T atomicExch(T *p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }                             \
    inline T atomicMax(T *p, T v) { return catnap_emu::atomic_update(p, [v](T o) { return o > v ? o : v; }); }        \
    inline T atomicMin(T *p, T v) { return catnap_emu::atomic_update(p, [v](T o) { return o < v ? o : v; }); }        \
    inline T atomicAnd(T *p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }                               \
    inline T atomicOr(T *p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                                 \
    inline T atomicXor(T *p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }                               \
    inline T atomicCAS(T *p, T cmp, T v) {                                                                             \
        __atomic_compare_exchange_n(p, &cmp, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                            \
        return cmp;                                                                                                    \
    }
CATNAP_EMU_INT_ATOMICS(int)
CATNAP_EMU_INT_ATOMICS(unsigned int)
CATNAP_EMU_INT_ATOMICS(unsigned long long)
CATNAP_EMU_INT_ATOMICS(long long)
#undef CATNAP_EMU_INT_ATOMICS
inline float atomicAdd(float *p, float v) { return catnap_emu::atomic_update_float(p, [v](float o) { return o + v; }); }
inline float atomicExch(float *p, float v) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    uint32_t o = __atomic_exchange_n(reinterpret_cast<uint32_t *>(p), b, __ATOMIC_SEQ_CST);
    float r;
    std::memcpy(&r, &o, 4);
    return r;
}
inline double atomicAdd(double *p, double v) {
    uint64_t *u = reinterpret_cast<uint64_t *>(p);
    uint64_t old = __atomic_load_n(u, __ATOMIC_RELAXED);
    for (;;) {
        double o, n;
        std::memcpy(&o, &old, 8);
        n = o + v;
        uint64_t nb;
        std::memcpy(&nb, &n, 8);
        if (__atomic_compare_exchange_n(u, &old, nb, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return o;
    }
}

// Integer min/max as CUDA's math headers declare them, including the mixed signed/unsigned forms that resolve to
// the unsigned comparison.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline unsigned int min(int a, unsigned int b) { return min((unsigned int)a, b); }
inline unsigned int max(int a, unsigned int b) { return max((unsigned int)a, b); }
inline unsigned int min(unsigned int a, int b) { return min(a, (unsigned int)b); }
inline unsigned int max(unsigned int a, int b) { return max(a, (unsigned int)b); }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

template <class T> inline T __ldg(const T *p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : (x != x ? 0.0f : x)); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }
inline int __float2int_rn(float f) { return (int)nearbyintf(f); }
inline int __float2int_rz(float f) { return (int)f; }
inline float __int2float_rn(int i) { return (float)i; }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
    x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
    x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
    x = (x >> 4 & 0x0f0f0f0fu) | (x & 0x0f0f0f0fu) << 4;
    return __builtin_bswap32(x);
}

inline int __dp4a(int a, int b, int c) {
    for (int i = 0; i < 4; i++) c += (int)(int8_t)(a >> (8 * i)) * (int)(int8_t)(b >> (8 * i));
    return c;
}
inline unsigned int __dp4a(unsigned int a, unsigned int b, unsigned int c) {
    for (int i = 0; i < 4; i++) c += (a >> (8 * i) & 0xffu) * (b >> (8 * i) & 0xffu);
    return c;
}


// IEEE binary16 with explicit bit manipulation: the result must match cvt.rn.f16.f32 bit for bit, independent of
// what the host compiler does with _Float16.
struct __half {
    unsigned short __x;
    __half() = default;
    __half(float f);
    operator float() const;
};
struct __half2 {
    __half x, y;
};

inline unsigned short catnap_emu_f2h_bits(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return 0x7fffu;  // NaN: the canonical NaN the hardware produces
    if (ax >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);  // >= 65520 rounds to infinity
    if (ax >= 0x38800000u) {  // normal half
        uint32_t r = ax - 0x38000000u;
        r += 0xfffu + ((r >> 13) & 1u);
        return (unsigned short)(sign | (r >> 13));
    }
    if (ax < 0x33000000u) return (unsigned short)sign;  // below half the smallest subnormal
    uint32_t e = ax >> 23;
    uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e;
    uint32_t q = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (q & 1u))) q++;
    return (unsigned short)(sign | q);
}
inline float catnap_emu_h2f_bits(unsigned short h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    uint32_t x;
    if (e == 0x1f) {
        x = sign | 0x7f800000u | (m << 13);
    } else if (e == 0) {
        if (m == 0) {
            x = sign;
        } else {
            e = 113;
            while (!(m & 0x400u)) {
                m <<= 1;
                e--;
            }
            x = sign | (e << 23) | ((m & 0x3ffu) << 13);
        }
    } else {
        x = sign | ((e + 112u) << 23) | (m << 13);
    }
    float f;
    std::memcpy(&f, &x, 4);
    return f;
}
inline __half::__half(float f) : __x(catnap_emu_f2h_bits(f)) {}
inline __half::operator float() const { return catnap_emu_h2f_bits(__x); }
inline float __half2float(__half h) { return catnap_emu_h2f_bits(h.__x); }
inline __half __float2half_rn(float f) { __half h; h.__x = catnap_emu_f2h_bits(f); return h; }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline __half __ushort_as_half(unsigned short u) { __half h; h.__x = u; return h; }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half2 __floats2half2_rn(float a, float b) { return __half2{__float2half_rn(a), __float2half_rn(b)}; }
inline float __low2float(__half2 h) { return __half2float(h.x); }
inline float __high2float(__half2 h) { return __half2float(h.y); }

#endif
