// Appended by build.sh to every kernel translation unit, followed by one CATNAP_EMU_KERNEL(name) per
// `extern "C" __global__` entry point found in it. Parameter types come from the compiler (decltype of the
// function), so nothing here parses C++.
#ifndef CATNAP_CUDA_EMU_REGISTRY_H
#define CATNAP_CUDA_EMU_REGISTRY_H

#include <type_traits>
#include <utility>

namespace catnap_emu {

struct KernelEntry {
    const char *name;
    void *fn;
    void (*invoke)(void *fn, void **params);
    unsigned int argCount;
    const unsigned int *argSizes;
};
void register_kernel(const KernelEntry *entry);

template <class... A, std::size_t... I> inline void invoke_unpacked(void (*f)(A...), void **p, std::index_sequence<I...>) {
    f(*static_cast<std::remove_reference_t<A> *>(p[I])...);
}
template <class... A> void invoke_kernel(void *fn, void **p) {
    invoke_unpacked(reinterpret_cast<void (*)(A...)>(fn), p, std::index_sequence_for<A...>{});
}
template <class... A> struct ArgSizes {
    static constexpr unsigned int value[sizeof...(A) + 1] = {static_cast<unsigned int>(sizeof(A))..., 0u};
};

struct Registrar {
    KernelEntry entry;
    template <class... A> Registrar(const char *name, void (*f)(A...)) {
        static_assert((... && (std::is_pointer<A>::value || std::is_arithmetic<A>::value)),
                      "kernel parameters must be pointers or arithmetic values");
        entry = KernelEntry{name, reinterpret_cast<void *>(f), &invoke_kernel<A...>, sizeof...(A), ArgSizes<A...>::value};
        register_kernel(&entry);
    }
};

}  // namespace catnap_emu

#define CATNAP_EMU_KERNEL(name) static ::catnap_emu::Registrar catnap_emu_registrar_##name(#name, &name);

#endif
