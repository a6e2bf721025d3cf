// gpu.h in builds without NCCL (and without fssl's own CUDA runtime calls): a GPU group of one
// rank works through libtorch alone; a larger one cannot reduce CUDA tensors and is refused.
#include "fssl/error.h"
#include "fssl/gpu.h"
#include "comm/gpu_backend.h"

namespace fssl {

void gpu_backend_set_device(int) {}  // libtorch's device guard, set by bind_local_gpu, is enough

std::string gpu_backend_describe(int) { return ""; }

bool gpu_built_with_nccl() { return false; }

std::unique_ptr<Communicator> comm_for_device(const MpiComm& group, at::Device device) {
  if (group.world_size() == 1) return comm_local();
  FSSL_CHECK(!device.is_cuda(), ConfigError,
             "tensor parallelism over {} GPUs needs NCCL, and this fssl was built without it (reconfigure with "
             "-DFSSL_WITH_NCCL=ON and NCCL_HOME, or use one GPU per group: --tp-size 1)", group.world_size());
  return comm_mpi(group);
}

}  // namespace fssl
