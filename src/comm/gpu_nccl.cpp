// gpu.h in NCCL builds: the CUDA runtime's current device, device names, and the TP group's
// communicator for CUDA models: NCCL for CUDA tensors, MPI for the CPU tensors of scoring.
#include <ATen/ATen.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include "fssl/gpu.h"
#include "comm/nccl_owner.h"
#include "comm/gpu_backend.h"

namespace fssl {
namespace {

// Dispatches each collective by the tensor's device. Both backends are collective over the same
// ranks in the same order (every rank passes tensors on the same side), so no call can pair with
// a call of the other backend.
class DeviceCommunicator final : public Communicator {
 public:
  explicit DeviceCommunicator(const MpiComm& group) : nccl_(comm_nccl(group)), mpi_(comm_mpi(group)) {}
  int rank() const override { return mpi_->rank(); }
  int world_size() const override { return mpi_->world_size(); }
  void all_reduce_sum(at::Tensor& t) override { on(t).all_reduce_sum(t); }
  void all_reduce_max(at::Tensor& t) override { on(t).all_reduce_max(t); }
  void all_reduce_argmax(at::Tensor& values, at::Tensor& indices) override {
    on(values).all_reduce_argmax(values, indices);
  }
  at::Tensor all_gather(const at::Tensor& t) override { return on(t).all_gather(t); }
  void broadcast(at::Tensor& t, int root) override { on(t).broadcast(t, root); }
  void barrier() override { mpi_->barrier(); }

 private:
  Communicator& on(const at::Tensor& t) { return t.is_cuda() ? *nccl_ : *mpi_; }
  std::unique_ptr<Communicator> nccl_, mpi_;
};

}  // namespace

void gpu_backend_set_device(int index) { FSSL_CUDA_CHECK(cudaSetDevice(index)); }

std::string gpu_backend_describe(int index) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return "";
  return fmt::format("{}, {} SMs, {:.1f} GiB", prop.name, prop.multiProcessorCount,
                     static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
}

bool gpu_built_with_nccl() { return true; }

std::unique_ptr<Communicator> comm_for_device(const MpiComm& group, at::Device device) {
  if (group.world_size() == 1) return comm_local();
  if (!device.is_cuda()) return comm_mpi(group);
  return std::make_unique<DeviceCommunicator>(group);
}

}  // namespace fssl
