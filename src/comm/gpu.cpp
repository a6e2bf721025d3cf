// gpu.h, the part every build shares: device names, local rank, binding through libtorch's device
// guard (present in CPU and CUDA libtorch alike), synchronisation and memory statistics.
#include "fssl/gpu.h"

#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>

#include <cstdlib>

#include "fssl/error.h"
#include "comm/gpu_backend.h"

// The device-allocator statistics API (c10::DeviceAllocator) is torch >= 2.9's; older libtorch
// reports no peak memory.
#if __has_include(<c10/core/CachingDeviceAllocator.h>)
#include <c10/core/CachingDeviceAllocator.h>
#define FSSL_HAVE_DEVICE_ALLOCATOR_STATS 1
#else
#define FSSL_HAVE_DEVICE_ALLOCATOR_STATS 0
#endif

namespace fssl {
namespace {

// A non-negative integer, or -1 when `text` is not one.
int parse_index(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(text);
}

#if FSSL_HAVE_DEVICE_ALLOCATOR_STATS
c10::DeviceAllocator* cuda_allocator(at::Device device) {
  if (!device.is_cuda() || !c10::impl::hasDeviceGuardImpl(at::kCUDA)) return nullptr;
  return dynamic_cast<c10::DeviceAllocator*>(c10::GetAllocator(at::kCUDA));
}
#endif

}  // namespace

at::Device device_parse(const std::string& text) {
  if (text == "cpu") return at::Device(at::kCPU);
  if (text == "cuda") return at::Device(at::kCUDA);
  const int index = text.rfind("cuda:", 0) == 0 ? parse_index(text.substr(5)) : -1;
  FSSL_CHECK(index >= 0, ConfigError, "--device {}: cpu, cuda or cuda:N", text);
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

int local_rank_hint(const MpiComm* comm) {
  for (const char* name : {"SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_RANK"}) {
    const char* value = std::getenv(name);
    if (value == nullptr) continue;
    const int rank = parse_index(value);
    FSSL_CHECK(rank >= 0, ConfigError, "{}={}: not a node-local rank (a non-negative integer)", name, value);
    return rank;
  }
  return comm != nullptr ? comm->local_rank() : 0;
}

int gpu_device_count() {
  if (!c10::impl::hasDeviceGuardImpl(at::kCUDA)) return 0;  // CPU-only libtorch
  return static_cast<int>(torch::cuda::device_count());
}

at::Device bind_local_gpu(int local_rank) {
  FSSL_ASSERT(local_rank >= 0);
  FSSL_CHECK(c10::impl::hasDeviceGuardImpl(at::kCUDA), ConfigError,
             "--device cuda: this fssl's libtorch was built without CUDA (build against a CUDA libtorch, "
             "e.g. the PyPI torch wheel's, or use --device cpu)");
  const int n = gpu_device_count();
  FSSL_CHECK(n > 0, ConfigError,
             "--device cuda: no GPU visible to this rank (local rank {}; check CUDA_VISIBLE_DEVICES and the "
             "job's GPU request, or use --device cpu)", local_rank);
  const int index = local_rank % n;
  const at::Device device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  c10::impl::getDeviceGuardImpl(at::kCUDA)->setDevice(device);
  gpu_backend_set_device(index);
  return device;
}

void gpu_synchronize(at::Device device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

std::int64_t gpu_peak_memory_bytes(at::Device device) {
#if FSSL_HAVE_DEVICE_ALLOCATOR_STATS
  if (c10::DeviceAllocator* a = cuda_allocator(device)) {
    const auto aggregate = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return a->getDeviceStats(device.has_index() ? device.index() : 0).allocated_bytes[aggregate].peak;
  }
#endif
  (void)device;
  return -1;
}

void gpu_reset_peak_memory(at::Device device) {
#if FSSL_HAVE_DEVICE_ALLOCATOR_STATS
  if (c10::DeviceAllocator* a = cuda_allocator(device)) a->resetPeakStats(device.has_index() ? device.index() : 0);
#endif
  (void)device;
}

std::string device_describe(at::Device device) {
  if (!device.is_cuda()) return device.str();
  const std::string what = gpu_backend_describe(device.has_index() ? device.index() : 0);
  return what.empty() ? device.str() : device.str() + " (" + what + ")";
}

}  // namespace fssl
