// The part of gpu.h that differs between builds: src/gpu_nccl.cpp (CUDA runtime + NCCL) or
// src/gpu_none.cpp (neither), chosen in CMakeLists.txt (private to gpu_*.cpp).
#pragma once

#include <string>

namespace fssl {

// Makes device `index` the CUDA runtime's current device for this thread (NCCL and fssl's own
// CUDA calls use it); a no-op where fssl does not link the CUDA runtime (libtorch's device is set
// by the caller). Throws CommError on a CUDA error.
void gpu_backend_set_device(int index);
// Name, SM count and memory of device `index`; empty where the CUDA runtime is not linked.
std::string gpu_backend_describe(int index);

}  // namespace fssl
