// Local (1-rank) and MPI communicators (comm.h).
#include "fssl/comm.h"

#include <ATen/ATen.h>

#include "comm/argmax.h"

namespace fssl {
namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(at::Tensor&) override {}
  void all_reduce_max(at::Tensor&) override {}
  void all_reduce_argmax(at::Tensor&, at::Tensor&) override {}
  at::Tensor all_gather(const at::Tensor& t) override { return t.clone(); }
  void broadcast(at::Tensor&, int) override {}
  void barrier() override {}
};

MPI_Datatype mpi_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kInt: return MPI_INT32_T;
    case at::kLong: return MPI_INT64_T;
    case at::kByte: return MPI_UINT8_T;
    default: FSSL_THROW(CommError, "MPI communicator: unsupported dtype {}", at::toString(type));
  }
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(const MpiComm& mpi) : comm_(mpi.get()) {}
  int rank() const override { return comm_.rank(); }
  int world_size() const override { return comm_.world_size(); }

  void all_reduce_sum(at::Tensor& t) override { reduce(t, MPI_SUM); }
  void all_reduce_max(at::Tensor& t) override { reduce(t, MPI_MAX); }

  void all_reduce_argmax(at::Tensor& values, at::Tensor& indices) override {
    FSSL_CHECK(values.scalar_type() == at::kFloat && indices.scalar_type() == at::kLong &&
                   values.numel() == indices.numel(), CommError, "all_reduce_argmax: needs float values and int64 indices");
    if (comm_.world_size() == 1) return;
    // The same unsigned-64 MAX encoding as the NCCL backend (MPI_MAXLOC would do here, but one
    // encoding for both backends keeps their tie rules identical by construction).
    at::Tensor keys = argmax_keys(values, indices);
    FSSL_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, keys.data_ptr(), static_cast<int>(keys.numel()), MPI_UINT64_T, MPI_MAX,
                                 comm_.get()));
    argmax_keys_decode(keys, values, indices);
  }

  at::Tensor all_gather(const at::Tensor& t) override {
    FSSL_CHECK(t.is_contiguous() && t.dim() >= 1, CommError, "all_gather: needs a contiguous tensor");
    std::vector<std::int64_t> shape = t.sizes().vec();
    shape[0] *= comm_.world_size();
    at::Tensor out = at::empty(shape, t.options());
    FSSL_MPI_CHECK(MPI_Allgather(t.data_ptr(), static_cast<int>(t.numel()), mpi_type(t.scalar_type()), out.data_ptr(),
                                 static_cast<int>(t.numel()), mpi_type(t.scalar_type()), comm_.get()));
    return out;
  }

  void broadcast(at::Tensor& t, int root) override {
    FSSL_CHECK(t.is_contiguous(), CommError, "broadcast: needs a contiguous tensor");
    if (comm_.world_size() == 1) return;
    FSSL_MPI_CHECK(MPI_Bcast(t.data_ptr(), static_cast<int>(t.numel() * static_cast<std::int64_t>(t.element_size())),
                             MPI_BYTE, root, comm_.get()));
  }

  void barrier() override { FSSL_MPI_CHECK(MPI_Barrier(comm_.get())); }

 private:
  void reduce(at::Tensor& t, MPI_Op op) {
    FSSL_CHECK(t.is_contiguous() && t.device().is_cpu(), CommError, "MPI all-reduce: needs a contiguous CPU tensor");
    if (comm_.world_size() == 1) return;
    if (t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf) {
      // MPI has no 16-bit float types: reduce in float32 and round once.
      at::Tensor wide = t.to(at::kFloat);
      reduce(wide, op);
      t.copy_(wide);
      return;
    }
    FSSL_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), mpi_type(t.scalar_type()), op,
                                 comm_.get()));
  }

  MpiComm comm_;
};

}  // namespace

at::Tensor all_gather_columns(const at::Tensor& x, Communicator& comm) {
  if (comm.world_size() == 1) return x;
  const at::Tensor all = comm.all_gather(x.unsqueeze(0).contiguous());  // [t, n, Vp]
  return all.permute({1, 0, 2}).reshape({x.size(0), -1});
}

std::unique_ptr<Communicator> comm_local() { return std::make_unique<LocalCommunicator>(); }
std::unique_ptr<Communicator> comm_mpi(const MpiComm& mpi) { return std::make_unique<MpiCommunicator>(mpi); }

}  // namespace fssl
