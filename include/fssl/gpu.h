// GPUs for fssl's ranks: which device a rank drives, the TP group's communicator for that device,
// and the few device queries benchmarks need. Compiled in every build: with a CPU-only libtorch
// (Debian's 1.13) the CUDA functions throw ConfigError or report "nothing"; with a CUDA libtorch
// and NCCL (FSSL_WITH_NCCL) GPUs of a group reduce over NCCL (src/gpu_nccl.cpp); without NCCL
// (src/gpu_none.cpp) a group of one GPU works and a larger one is refused.
//
// Where the device is decided: a command maps its rank to a GPU (bind_local_gpu), loads the model
// there (ModelOptions::device, model.h) and builds the group's communicator with comm_for_device;
// everything downstream follows the tensors' devices.
// One rank per GPU; the functions are for the main thread (they set the thread's CUDA device).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>

#include "fssl/comm.h"
#include "fssl/mpi.h"

namespace fssl {

// "cpu", "cuda" or "cuda:N" (N >= 0) -> the device; plain "cuda" has no index (bind_local_gpu
// picks one). Throws ConfigError naming `text` otherwise.
at::Device device_parse(const std::string& text);

// The node-local rank of this process, to choose its GPU: SLURM_LOCALID (srun), else
// OMPI_COMM_WORLD_LOCAL_RANK (mpirun), else comm->local_rank() (MpiComm's
// MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) rank, computed when comm was made: not collective),
// else 0. Throws ConfigError when a variable is set but is not a non-negative integer.
int local_rank_hint(const MpiComm* comm = nullptr);

// CUDA devices libtorch can use in this process (0 with a CPU-only libtorch or no GPU).
int gpu_device_count();

// Binds this process to cuda:(local_rank % gpu_device_count()): sets it as the current CUDA
// device (libtorch's and the CUDA runtime's, which NCCL uses) and returns it. Throws ConfigError
// when libtorch was built without CUDA or no GPU is visible (CUDA_VISIBLE_DEVICES, the node).
// REQUIRES: local_rank >= 0.
at::Device bind_local_gpu(int local_rank);

// The Communicator a TP group uses for a model on `device`. Collective over `group` (all its ranks
// call with the same device type). One rank: comm_local (no NCCL needed). CPU: comm_mpi. CUDA in
// NCCL builds: NCCL for CUDA tensors (the model's all-reduces) and MPI for CPU tensors (scoring's
// scalar reductions), so one object serves both; each rank's CUDA device must be bound first.
// CUDA without NCCL and more than one rank: ConfigError.
std::unique_ptr<Communicator> comm_for_device(const MpiComm& group, at::Device device);

// Whether this fssl was built with NCCL (GPU groups larger than one rank).
bool gpu_built_with_nccl();

// Blocks until all work queued on `device` has finished (no-op on the CPU): brackets timings.
void gpu_synchronize(at::Device device);

// Peak bytes held in tensors by libtorch's CUDA caching allocator on `device` since the last
// reset; -1 where unknown (the CPU, libtorch without the device-allocator statistics API).
std::int64_t gpu_peak_memory_bytes(at::Device device);
void gpu_reset_peak_memory(at::Device device);

// "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3, 132 SMs, 79.1 GiB)" where the CUDA runtime is linked.
std::string device_describe(at::Device device);

}  // namespace fssl
