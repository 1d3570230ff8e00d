// Stand-in for the CUDA header of the same name: cuda_emu.h (force-included) already declares everything the
// emulator supports.
#pragma once
