// Interface between the kernel registry, the fiber runtime and the fake driver. Not seen by kernel code.
#ifndef CATNAP_CUDA_EMU_INTERNAL_H
#define CATNAP_CUDA_EMU_INTERNAL_H

#include <cstddef>
#include <string>

#include "cuda_emu_registry.h"

namespace catnap_emu {


// Looks a kernel up among all kernels linked into the library; null when absent.
const KernelEntry *find_kernel(const char *name);

struct Dim {
    unsigned int x, y, z;
};

// Runs the whole grid before returning. On failure (deadlock, divergent warp operation, __trap) returns false and
// fills `error`; the message has already been printed to stderr.
bool run_grid(const KernelEntry *kernel, void **params, Dim grid, Dim block, std::string &error);

}  // namespace catnap_emu

#endif
