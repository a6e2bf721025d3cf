// NCCL communicator owner and the NCCL check macro (built only with FSSL_WITH_NCCL).
// Creation is collective over an MPI communicator: its rank 0 calls ncclGetUniqueId, the id is
// broadcast over MPI, and every rank calls ncclCommInitRank on its current CUDA device.
// Teardown: call destroy() on the normal path (collective); the destructor only aborts a
// communicator that was not destroyed, and never calls other NCCL or CUDA functions (c10d rule).
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>

#include "fssl/cuda_check.h"
#include "fssl/error.h"
#include "fssl/mpi.h"

#define FSSL_NCCL_CHECK(call)                                                                              \
  do {                                                                                                     \
    const ncclResult_t fssl_nccl_rc_ = (call);                                                             \
    if (fssl_nccl_rc_ != ncclSuccess) {                                                                    \
      FSSL_THROW(::fssl::CommError, "{} failed: {} (last error: {})", #call, ncclGetErrorString(fssl_nccl_rc_), \
                 ncclGetLastError(nullptr));                                                               \
    }                                                                                                      \
  } while (0)

namespace fssl {

class NcclComm {
 public:
  // Collective over `mpi`: all ranks call with their CUDA device already set.
  explicit NcclComm(const MpiComm& mpi);
  ~NcclComm();
  NcclComm(NcclComm&& other) noexcept : comm_(other.comm_), rank_(other.rank_), world_size_(other.world_size_) {
    other.comm_ = nullptr;
  }
  NcclComm& operator=(NcclComm&&) = delete;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  ncclComm_t get() const { return comm_; }
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // Collective: frees the communicator after outstanding work completes.
  void destroy();

 private:
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, world_size_ = 1;
};

class Communicator;
// Communicator over CUDA tensors (comm.h). Collective over `mpi`; each rank's CUDA device must be
// set first (one rank per GPU).
std::unique_ptr<Communicator> comm_nccl(const MpiComm& mpi);

}  // namespace fssl
