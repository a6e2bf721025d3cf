// NCCL communicator over CUDA tensors (comm.h; built with FSSL_WITH_NCCL). Collectives are
// synchronous: each waits for the producer (the device's default stream), runs on the
// communicator's own stream and synchronises it, so results are ready on return. Overlapping
// communication with compute belongs with the GPU replay path.
#include <ATen/ATen.h>

#include "comm/argmax.h"
#include "fssl/comm.h"
#include "comm/nccl_owner.h"

namespace fssl {
namespace {

ncclDataType_t nccl_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kInt: return ncclInt32;
    case at::kLong: return ncclInt64;
    case at::kByte: return ncclUint8;
    default: FSSL_THROW(CommError, "NCCL communicator: unsupported dtype {}", at::toString(type));
  }
}

class NcclCommunicator final : public Communicator {
 public:
  explicit NcclCommunicator(const MpiComm& mpi) : mpi_(mpi.get()), nccl_(mpi_) {
    FSSL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    FSSL_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
  }
  ~NcclCommunicator() override {
    try {
      nccl_.destroy();
    } catch (const std::exception&) {
      // the NcclComm destructor aborts what could not be destroyed
    }
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
  }
  int rank() const override { return nccl_.rank(); }
  int world_size() const override { return nccl_.world_size(); }

  void all_reduce_sum(at::Tensor& t) override { reduce(t, nccl_type(t.scalar_type()), ncclSum); }
  void all_reduce_max(at::Tensor& t) override { reduce(t, nccl_type(t.scalar_type()), ncclMax); }

  void all_reduce_argmax(at::Tensor& values, at::Tensor& indices) override {
    FSSL_CHECK(values.scalar_type() == at::kFloat && indices.scalar_type() == at::kLong, CommError,
               "all_reduce_argmax: needs float values and int64 indices");
    at::Tensor keys = argmax_keys(values, indices);
    reduce(keys, ncclUint64, ncclMax);
    argmax_keys_decode(keys, values, indices);
  }

  at::Tensor all_gather(const at::Tensor& t) override {
    check(t);
    std::vector<std::int64_t> shape = t.sizes().vec();
    shape[0] *= world_size();
    at::Tensor out = at::empty(shape, t.options());
    wait_for_producer();
    FSSL_NCCL_CHECK(ncclAllGather(t.data_ptr(), out.data_ptr(), static_cast<std::size_t>(t.numel()),
                                  nccl_type(t.scalar_type()), nccl_.get(), stream_));
    FSSL_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return out;
  }

  void broadcast(at::Tensor& t, int root) override {
    check(t);
    wait_for_producer();
    FSSL_NCCL_CHECK(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<std::size_t>(t.numel()),
                                  nccl_type(t.scalar_type()), root, nccl_.get(), stream_));
    FSSL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void barrier() override { FSSL_MPI_CHECK(MPI_Barrier(mpi_.get())); }

 private:
  static void check(const at::Tensor& t) {
    FSSL_CHECK(t.is_contiguous() && t.is_cuda(), CommError, "NCCL communicator: needs a contiguous CUDA tensor");
  }
  void wait_for_producer() {
    FSSL_CUDA_CHECK(cudaEventRecord(ready_, nullptr));
    FSSL_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
  }
  void reduce(at::Tensor& t, ncclDataType_t type, ncclRedOp_t op) {
    check(t);
    wait_for_producer();
    FSSL_NCCL_CHECK(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<std::size_t>(t.numel()), type, op,
                                  nccl_.get(), stream_));
    FSSL_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  MpiComm mpi_;
  NcclComm nccl_;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

}  // namespace

std::unique_ptr<Communicator> comm_nccl(const MpiComm& mpi) { return std::make_unique<NcclCommunicator>(mpi); }

}  // namespace fssl
