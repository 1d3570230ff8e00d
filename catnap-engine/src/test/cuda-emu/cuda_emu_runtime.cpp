// Fiber runtime behind cuda_emu.h: runs a grid of CUDA thread blocks on CPU threads.
//
// One block runs on one OS thread at a time. Each CUDA thread of the block is a fiber with its own stack; fibers
// switch only at __syncthreads and warp intrinsics (cooperative scheduling), which is exactly where CUDA threads can
// observe each other, so plain memory is coherent between them without fences. Blocks of a grid are spread over a
// pool of OS threads, each with its own fibers and stacks.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if !defined(__x86_64__) || defined(CATNAP_EMU_UCONTEXT)
#define CATNAP_EMU_USE_UCONTEXT 1
#include <ucontext.h>
#endif

#include "cuda_emu.h"
#include "cuda_emu_internal.h"

// The runtime touches the fields behind these names directly.
#undef threadIdx
#undef blockIdx
#undef blockDim
#undef gridDim

__thread catnap_emu::Tls catnap_emu_tls;

#ifndef CATNAP_EMU_USE_UCONTEXT
// glibc's swapcontext saves and restores the signal mask with a system call on every switch; this saves only what
// the SysV ABI makes callee-saved, which is all a cooperative switch at a call boundary needs.
asm(R"(
    .text
    .p2align 4
    .globl catnap_emu_switch
    .hidden catnap_emu_switch
    .type catnap_emu_switch,@function
catnap_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size catnap_emu_switch, .-catnap_emu_switch

    .p2align 4
    .globl catnap_emu_fiber_start
    .hidden catnap_emu_fiber_start
    .type catnap_emu_fiber_start,@function
catnap_emu_fiber_start:
    movq %r12, %rdi
    callq *%r13
    ud2
    .size catnap_emu_fiber_start, .-catnap_emu_fiber_start
)");
extern "C" void catnap_emu_switch(void **save, void *to);
extern "C" void catnap_emu_fiber_start();
#endif

namespace catnap_emu {

enum State : uint8_t { READY, RUNNING, WAIT_BLOCK, WAIT_WARP, DONE };

struct Fiber {
    FiberView view;  // first: cuda_emu.h reads threadIdx and lane through this prefix
    unsigned linear;
    unsigned warp;
    State state;
    void *sp;
#ifdef CATNAP_EMU_USE_UCONTEXT
    ucontext_t uc;
#endif
};

namespace {

constexpr unsigned kMaxThreads = 1024;
constexpr unsigned kMaxWarps = kMaxThreads / 32;


struct Warp {
    uint32_t live;     // lanes that exist and have not returned
    uint32_t arrived;  // lanes waiting in the pending warp operation
    uint32_t mask;
    int op;
    uint64_t value[32];
    uint8_t source[32];
    uint64_t result[32];
};

struct Job;

struct Worker {
    void *mainSp = nullptr;
#ifdef CATNAP_EMU_USE_UCONTEXT
    ucontext_t mainUc;
#endif
    void *deadSp = nullptr;  // where a finished fiber's context goes; never resumed
    Fiber fibers[kMaxThreads];
    char *stacks = nullptr;
    size_t stackSize = 0;
    unsigned guarded = 0;
    unsigned ready[kMaxThreads];
    unsigned readyHead = 0, readyCount = 0;
    unsigned threads = 0, live = 0;
    unsigned blockArrived = 0;
    unsigned blockWaiters[kMaxThreads];
    unsigned blockGen = 0;
    uint32_t blockCount[2] = {0, 0};  // __syncthreads_count predicates, per barrier generation parity
    uint64_t blockResult[2] = {0, 0};  // participants << 32 | count
    Warp warps[kMaxWarps];
    const KernelEntry *kernel = nullptr;
    void **params = nullptr;
    bool failed = false;
    std::string error;

    Worker();
    ~Worker();
};

__thread Worker *tl_worker;

size_t stack_size() {
    static const size_t size = [] {
        const char *env = getenv("CATNAP_EMU_STACK_KB");
        long kb = env ? strtol(env, nullptr, 10) : 64;
        if (kb < 16) kb = 16;
        return (size_t)kb * 1024;
    }();
    return size;
}

Worker::Worker() {
    stackSize = stack_size();
    void *p = mmap(nullptr, stackSize * kMaxThreads, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "catnap-cuda-emu: cannot reserve %zu bytes of fiber stacks\n", stackSize * kMaxThreads);
        abort();
    }
    stacks = static_cast<char *>(p);
}

Worker::~Worker() { munmap(stacks, stackSize * kMaxThreads); }

struct WorkerHolder {
    Worker *w = nullptr;
    ~WorkerHolder() { delete w; }
};
thread_local WorkerHolder tl_holder;

Worker &worker() {
    if (!tl_worker) {
        tl_holder.w = new Worker();
        tl_worker = tl_holder.w;
    }
    return *tl_worker;
}

const char *op_name(int op) {
    switch (op) {
    case OP_SHFL: return "__shfl_sync";
    case OP_SHFL_UP: return "__shfl_up_sync";
    case OP_SHFL_DOWN: return "__shfl_down_sync";
    case OP_SHFL_XOR: return "__shfl_xor_sync";
    case OP_BALLOT: return "__ballot_sync";
    case OP_ANY: return "__any_sync";
    case OP_ALL: return "__all_sync";
    case OP_SYNCWARP: return "__syncwarp";
    default: return "?";
    }
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

std::string where(const Worker &w) {
    const Tls &t = catnap_emu_tls;
    return format("kernel %s, block (%u,%u,%u) of grid (%u,%u,%u), block size (%u,%u,%u)", w.kernel->name,
                  t.blockIdx.x, t.blockIdx.y, t.blockIdx.z, t.gridDim.x, t.gridDim.y, t.gridDim.z, t.blockDim.x,
                  t.blockDim.y, t.blockDim.z);
}

void switch_to(void **save, Fiber *next, Worker &w) {
    (void)w;
    catnap_emu_tls.self = next;
    next->state = RUNNING;
#ifdef CATNAP_EMU_USE_UCONTEXT
    // `save` is either a fiber's sp field, the worker's deadSp or mainSp; map it back to the ucontext to fill.
    ucontext_t *from = nullptr;
    static thread_local ucontext_t dead;
    if (save == &w.mainSp) from = &w.mainUc;
    else if (save == &w.deadSp) from = &dead;
    else from = &reinterpret_cast<Fiber *>(reinterpret_cast<char *>(save) - offsetof(Fiber, sp))->uc;
    swapcontext(from, &next->uc);
#else
    catnap_emu_switch(save, next->sp);
#endif
}

void switch_to_main(Worker &w) {
    catnap_emu_tls.self = nullptr;
#ifdef CATNAP_EMU_USE_UCONTEXT
    static thread_local ucontext_t dead;
    swapcontext(&dead, &w.mainUc);
#else
    catnap_emu_switch(&w.deadSp, w.mainSp);
#endif
    __builtin_unreachable();
}

[[noreturn]] void fail(Worker &w, std::string message) {
    w.failed = true;
    w.error = std::move(message);
    switch_to_main(w);
    __builtin_unreachable();
}

[[noreturn]] void deadlock(Worker &w) {
    unsigned atBarrier = 0;
    std::string warps;
    for (unsigned i = 0; i < w.threads; i++)
        if (w.fibers[i].state == WAIT_BLOCK) atBarrier++;
    for (unsigned i = 0; i * 32 < w.threads; i++) {
        const Warp &wp = w.warps[i];
        if (!wp.arrived) continue;
        uint32_t missing = wp.mask & wp.live & ~wp.arrived;
        warps += format("; warp %u: lanes 0x%08x wait in %s(mask 0x%08x) for lanes 0x%08x", i, wp.arrived,
                        op_name(wp.op), wp.mask, missing);
    }
    fail(w, format("deadlock in %s: %u threads wait in __syncthreads, %u have returned%s. A warp operation in "
                   "divergent code or __syncthreads skipped by some threads of the block never completes on a GPU "
                   "either.",
                   where(w).c_str(), atBarrier, w.threads - w.live, warps.c_str()));
}

// Hands the OS thread to the next ready fiber. `save` receives the caller's context (null: the caller has finished).
void run_next(Worker &w, Fiber *self) {
    if (w.readyCount == 0) {
        if (w.live == 0) switch_to_main(w);
        deadlock(w);
    }
    unsigned next = w.ready[w.readyHead];
    w.readyHead = (w.readyHead + 1) % kMaxThreads;
    w.readyCount--;
    switch_to(self ? &self->sp : &w.deadSp, &w.fibers[next], w);
}

inline void make_ready(Worker &w, unsigned fiber) {
    w.fibers[fiber].state = READY;
    w.ready[(w.readyHead + w.readyCount) % kMaxThreads] = fiber;
    w.readyCount++;
}

// Completes the pending __syncthreads: wakes the blockArrived waiting threads; `caller` is 1 when the last arriving
// thread triggers it (it keeps running and is not among the waiters), 0 when a returning thread does.
void release_block_barrier(Worker &w, unsigned caller) {
    const unsigned slot = w.blockGen & 1;
    w.blockResult[slot] = (uint64_t)(w.blockArrived + caller) << 32 | w.blockCount[slot];
    // Double-buffered: a released thread reads its result after others may already count for the next barrier.
    w.blockCount[slot ^ 1] = 0;
    w.blockGen++;
    for (unsigned i = 0; i < w.blockArrived; i++) make_ready(w, w.blockWaiters[i]);
    w.blockArrived = 0;
}

void release_warp(Worker &w, unsigned warp, unsigned self_lane_or_32) {
    Warp &wp = w.warps[warp];
    uint32_t parts = wp.arrived;
    if (wp.op == OP_BALLOT || wp.op == OP_ANY || wp.op == OP_ALL) {
        uint32_t ballot = 0;
        for (uint32_t m = parts; m; m &= m - 1) {
            unsigned l = __builtin_ctz(m);
            if (wp.value[l]) ballot |= 1u << l;
        }
        uint64_t r = (uint64_t)parts << 32 | ballot;
        for (uint32_t m = parts; m; m &= m - 1) wp.result[__builtin_ctz(m)] = r;
    } else {
        for (uint32_t m = parts; m; m &= m - 1) {
            unsigned l = __builtin_ctz(m);
            wp.result[l] = wp.value[wp.source[l]];
        }
    }
    wp.arrived = 0;
    for (uint32_t m = parts; m; m &= m - 1) {
        unsigned l = __builtin_ctz(m);
        if (l != self_lane_or_32) make_ready(w, warp * 32 + l);
    }
}

void fiber_main(Fiber *f) {
    Worker &w = *tl_worker;
    w.kernel->invoke(w.kernel->fn, w.params);
    // A returned thread stops counting for __syncthreads and for warp operations, as on the GPU; that may complete
    // a rendezvous the others are already waiting in.
    f->state = DONE;
    w.live--;
    Warp &wp = w.warps[f->warp];
    wp.live &= ~(1u << f->view.lane);
    if (wp.arrived && wp.arrived == (wp.mask & wp.live)) release_warp(w, f->warp, 32);
    if (w.blockArrived && w.blockArrived == w.live) release_block_barrier(w, 0);
    run_next(w, nullptr);
    __builtin_unreachable();
}

#ifdef CATNAP_EMU_USE_UCONTEXT
void fiber_trampoline(unsigned lo, unsigned hi) {
    fiber_main(reinterpret_cast<Fiber *>((uintptr_t)hi << 32 | lo));
}
#endif

void prepare_fiber(Worker &w, unsigned i) {
    Fiber &f = w.fibers[i];
    char *lo = w.stacks + (size_t)i * w.stackSize;
    if (i >= w.guarded) {
        // Best effort: a guard page turns a stack overflow into a fault at the overflow instead of silent
        // corruption of the neighbouring fiber. Failing (map count limit) only loses that diagnosis.
        mprotect(lo, 4096, PROT_NONE);
        w.guarded = i + 1;
    }
#ifdef CATNAP_EMU_USE_UCONTEXT
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = lo + 4096;
    f.uc.uc_stack.ss_size = w.stackSize - 4096;
    f.uc.uc_link = nullptr;
    uintptr_t p = reinterpret_cast<uintptr_t>(&f);
    makecontext(&f.uc, (void (*)())fiber_trampoline, 2, (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
#else
    uintptr_t top = reinterpret_cast<uintptr_t>(lo + w.stackSize) & ~(uintptr_t)15;
    void **sp = reinterpret_cast<void **>(top - 72);
    sp[0] = nullptr;  // r15
    sp[1] = nullptr;  // r14
    sp[2] = reinterpret_cast<void *>(&fiber_main);  // r13: called by catnap_emu_fiber_start
    sp[3] = &f;       // r12: its argument
    sp[4] = nullptr;  // rbx
    sp[5] = nullptr;  // rbp
    sp[6] = reinterpret_cast<void *>(&catnap_emu_fiber_start);
    f.sp = sp;
#endif
}

// Returns false when the block failed; w.error says why.
bool run_block(Worker &w, uint3 block) {
    catnap_emu_tls.blockIdx = block;
    const uint3 dim = catnap_emu_tls.blockDim;
    w.live = w.threads;
    w.blockArrived = 0;
    w.blockGen = 0;
    w.blockCount[0] = 0;
    w.readyHead = 0;
    w.readyCount = 0;
    for (unsigned i = 0; i * 32 < w.threads; i++) {
        Warp &wp = w.warps[i];
        unsigned lanes = std::min(32u, w.threads - i * 32);
        wp.live = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
        wp.arrived = 0;
    }
    for (unsigned i = 0; i < w.threads; i++) {
        Fiber &f = w.fibers[i];
        f.view.threadIdx = uint3{i % dim.x, (i / dim.x) % dim.y, i / (dim.x * dim.y)};
        f.view.lane = i % 32;
        f.linear = i;
        f.warp = i / 32;
        prepare_fiber(w, i);
        make_ready(w, i);
    }
    unsigned first = w.ready[0];
    w.readyHead = 1;
    w.readyCount--;
    catnap_emu_tls.self = &w.fibers[first];
    w.fibers[first].state = RUNNING;
#ifdef CATNAP_EMU_USE_UCONTEXT
    swapcontext(&w.mainUc, &w.fibers[first].uc);
#else
    catnap_emu_switch(&w.mainSp, w.fibers[first].sp);
#endif
    return !w.failed;
}

struct Job {
    const KernelEntry *kernel;
    void **params;
    Dim grid, block;
    uint64_t total;
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::string error;
};

void work(Job &job) {
    Worker &w = worker();
    w.kernel = job.kernel;
    w.params = job.params;
    w.failed = false;
    w.error.clear();
    w.threads = job.block.x * job.block.y * job.block.z;
    catnap_emu_tls.blockDim = uint3{job.block.x, job.block.y, job.block.z};
    catnap_emu_tls.gridDim = uint3{job.grid.x, job.grid.y, job.grid.z};
    const uint64_t gx = job.grid.x, gxy = gx * job.grid.y;
    while (!job.failed.load(std::memory_order_relaxed)) {
        uint64_t b = job.next.fetch_add(1, std::memory_order_relaxed);
        if (b >= job.total) break;
        uint3 idx{(unsigned)(b % gx), (unsigned)(b / gx % job.grid.y), (unsigned)(b / gxy)};
        if (!run_block(w, idx)) {
            std::lock_guard<std::mutex> lock(job.mu);
            if (!job.failed.exchange(true)) job.error = w.error;
            break;
        }
    }
    catnap_emu_tls.self = nullptr;
}

// OS threads beyond the caller's; the caller of run_grid works on the grid too.
class Pool {
  public:
    static Pool &get() {
        static Pool *pool = new Pool();  // never destroyed: workers may still be parked at process exit
        return *pool;
    }
    unsigned size() const { return (unsigned)threads_.size(); }

    void run(Job &job) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            job_ = &job;
            epoch_++;
            busy_ = (unsigned)threads_.size();
        }
        wake_.notify_all();
        work(job);
        std::unique_lock<std::mutex> lock(mu_);
        done_.wait(lock, [this] { return busy_ == 0; });
        job_ = nullptr;
    }

  private:
    Pool() {
        unsigned n = std::thread::hardware_concurrency();
        if (const char *env = getenv("CATNAP_EMU_THREADS")) n = (unsigned)std::max(1L, strtol(env, nullptr, 10));
        if (n == 0) n = 1;
        for (unsigned i = 1; i < n; i++) threads_.emplace_back([this] { loop(); });
        for (auto &t : threads_) t.detach();
    }

    void loop() {
        uint64_t seen = 0;
        for (;;) {
            Job *job;
            {
                std::unique_lock<std::mutex> lock(mu_);
                wake_.wait(lock, [&] { return epoch_ != seen; });
                seen = epoch_;
                job = job_;
            }
            work(*job);
            std::lock_guard<std::mutex> lock(mu_);
            if (--busy_ == 0) done_.notify_all();
        }
    }

    std::vector<std::thread> threads_;
    std::mutex mu_;
    std::condition_variable wake_, done_;
    Job *job_ = nullptr;
    uint64_t epoch_ = 0;
    unsigned busy_ = 0;
};

std::vector<const KernelEntry *> &registry() {
    static std::vector<const KernelEntry *> r;
    return r;
}

}  // namespace

void register_kernel(const KernelEntry *entry) {
    for (const KernelEntry *e : registry()) {
        if (strcmp(e->name, entry->name) == 0) {
            fprintf(stderr, "catnap-cuda-emu: kernel %s is defined in two kernel sources; using the first\n",
                    entry->name);
            return;
        }
    }
    registry().push_back(entry);
}

const KernelEntry *find_kernel(const char *name) {
    for (const KernelEntry *e : registry())
        if (strcmp(e->name, name) == 0) return e;
    return nullptr;
}

bool run_grid(const KernelEntry *kernel, void **params, Dim grid, Dim block, std::string &error) {
    // One grid at a time: the pool has one job slot, and a GPU may legally run launches one after another.
    static std::mutex launch_mu;
    std::lock_guard<std::mutex> lock(launch_mu);
    Job job;
    job.kernel = kernel;
    job.params = params;
    job.grid = grid;
    job.block = block;
    job.total = (uint64_t)grid.x * grid.y * grid.z;
    if (job.total > 1 && Pool::get().size() > 0) Pool::get().run(job);
    else work(job);
    if (job.failed) {
        error = job.error;
        fprintf(stderr, "catnap-cuda-emu: %s\n", error.c_str());
        return false;
    }
    return true;
}

}  // namespace catnap_emu

using namespace catnap_emu;

extern "C" uint64_t catnap_emu_syncthreads_count(int predicate) {
    Worker &w = *tl_worker;
    Fiber *f = catnap_emu_tls.self;
    const unsigned slot = w.blockGen & 1;
    w.blockCount[slot] += predicate != 0;
    if (w.blockArrived + 1 == w.live) {
        release_block_barrier(w, 1);
    } else {
        w.blockWaiters[w.blockArrived++] = f->linear;
        f->state = WAIT_BLOCK;
        run_next(w, f);
    }
    return w.blockResult[slot];
}

extern "C" void catnap_emu_syncthreads() { catnap_emu_syncthreads_count(0); }

extern "C" uint64_t catnap_emu_warp_exchange(unsigned int mask, uint64_t value, int op, unsigned int source) {
    Worker &w = *tl_worker;
    Fiber *f = catnap_emu_tls.self;
    const unsigned lane = f->view.lane;
    const uint32_t bit = 1u << lane;
    Warp &wp = w.warps[f->warp];
    if (!(mask & bit))
        fail(w, format("%s: thread (%u,%u,%u) calls %s with mask 0x%08x, which does not include its own lane %u",
                       where(w).c_str(), f->view.threadIdx.x, f->view.threadIdx.y, f->view.threadIdx.z, op_name(op),
                       mask, lane));
    if (wp.arrived == 0) {
        wp.op = op;
        wp.mask = mask;
    } else if (wp.op != op || wp.mask != mask) {
        fail(w, format("%s: divergent warp operations in warp %u: lanes 0x%08x wait in %s(mask 0x%08x) while lane %u "
                       "calls %s(mask 0x%08x). All non-exited lanes named in a mask must execute the same "
                       "intrinsic with the same mask.",
                       where(w).c_str(), f->warp, wp.arrived, op_name(wp.op), wp.mask, lane, op_name(op), mask));
    }
    wp.value[lane] = value;
    wp.source[lane] = (uint8_t)source;
    wp.arrived |= bit;
    if (wp.arrived == (mask & wp.live)) {
        release_warp(w, f->warp, lane);
    } else {
        f->state = WAIT_WARP;
        run_next(w, f);
    }
    return wp.result[lane];
}

extern "C" void catnap_emu_trap(const char *what) {
    Worker &w = *tl_worker;
    Fiber *f = catnap_emu_tls.self;
    fail(w, format("%s: thread (%u,%u,%u): %s", where(w).c_str(), f->view.threadIdx.x, f->view.threadIdx.y,
                   f->view.threadIdx.z, what));
}
