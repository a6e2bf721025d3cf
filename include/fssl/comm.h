// Communicator: the collectives a tensor-parallel group needs, over three backends.
//   comm_local  one rank, every collective a no-op (the 1-rank fast path)
//   comm_mpi    CPU tensors over an MPI communicator (MPI_Allreduce / MPI_Allgather / MPI_Bcast)
//   comm_nccl   CUDA tensors over NCCL (built with FSSL_WITH_NCCL; see comm/nccl_owner.h)
// Collective semantics: every method except rank()/world_size() is collective over the group:
// all ranks call it in the same order with tensors of the same shape and dtype.
// Tensors must be contiguous; reductions are in place. Floating-point sums depend on the
// backend's reduction order; results are identical on every rank of a group.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "fssl/mpi.h"

namespace fssl {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;

  // t <- sum over ranks of t. float32, float64, int32, int64; bf16/f16 are summed in float32.
  virtual void all_reduce_sum(at::Tensor& t) = 0;
  // t <- elementwise max over ranks.
  virtual void all_reduce_max(at::Tensor& t) = 0;
  // Row-wise argmax across ranks: values [n] float32 (each rank's local row maximum) and
  // indices [n] int64 (their global indices) become the global maximum and its index; ties go
  // to the smallest index, so the result does not depend on the number of ranks.
  virtual void all_reduce_argmax(at::Tensor& values, at::Tensor& indices) = 0;
  // Concatenation along dim 0 of every rank's t (equal shapes), in rank order.
  virtual at::Tensor all_gather(const at::Tensor& t) = 0;
  // t <- root's t.
  virtual void broadcast(at::Tensor& t, int root) = 0;
  virtual void barrier() = 0;
};

// Vocabulary shards [n, Vp] of every rank side by side: [n, t * Vp], column j * Vp + i from rank j's
// column i (with shards of Vp columns starting at rank * Vp, column c is global id c). Collective.
at::Tensor all_gather_columns(const at::Tensor& x, Communicator& comm);

std::unique_ptr<Communicator> comm_local();
// Collective over `mpi` (duplicates it).
std::unique_ptr<Communicator> comm_mpi(const MpiComm& mpi);

}  // namespace fssl
