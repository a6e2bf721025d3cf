// NCCL communicator smoke test: one rank per GPU, MPI-broadcast unique id, all-reduce of a
// device buffer filled by a kernel, result checked on the host. Exits 0 with "SKIP" when no CUDA
// device is usable (the build machines compile and link this but have no GPU).
#include <cstdio>
#include <vector>

#include "fssl/log.h"
#include "fssl/mpi.h"
#include "comm/nccl_owner.h"

namespace {

__global__ void fill(float* data, int n, float value) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) data[i] = value + static_cast<float>(i % 7);
}

}  // namespace

int main(int argc, char** argv) {
  fssl::MpiEnvironment env(&argc, &argv);
  int code = 0;
  try {
    fssl::MpiComm world;
    int n_devices = 0;
    const bool have_gpu = cudaGetDeviceCount(&n_devices) == cudaSuccess && n_devices > 0;
    if (!world.all_true(have_gpu)) {
      if (world.rank() == 0) std::printf("SKIP: no usable CUDA device on every rank\n");
      return 0;
    }
    FSSL_CUDA_CHECK(cudaSetDevice(world.local_rank() % n_devices));
    fssl::NcclComm nccl(world);
    constexpr int kCount = 1 << 20;
    float* buffer = nullptr;
    cudaStream_t stream = nullptr;
    FSSL_CUDA_CHECK(cudaStreamCreate(&stream));
    FSSL_CUDA_CHECK(cudaMalloc(&buffer, kCount * sizeof(float)));
    fill<<<(kCount + 255) / 256, 256, 0, stream>>>(buffer, kCount, static_cast<float>(world.rank()));
    FSSL_CUDA_CHECK(cudaGetLastError());
    FSSL_NCCL_CHECK(ncclAllReduce(buffer, buffer, kCount, ncclFloat, ncclSum, nccl.get(), stream));
    std::vector<float> host(kCount);
    FSSL_CUDA_CHECK(cudaMemcpyAsync(host.data(), buffer, kCount * sizeof(float), cudaMemcpyDeviceToHost, stream));
    FSSL_CUDA_CHECK(cudaStreamSynchronize(stream));
    // sum over ranks r of (r + i % 7) = P(P-1)/2 + P (i % 7), exact in float for small P.
    const int p = world.world_size();
    int wrong = 0;
    for (int i = 0; i < kCount; ++i) {
      const float expected = static_cast<float>(p * (p - 1) / 2 + p * (i % 7));
      if (host[i] != expected) ++wrong;
    }
    nccl.destroy();
    cudaFree(buffer);
    cudaStreamDestroy(stream);
    const bool ok = world.all_true(wrong == 0);
    if (world.rank() == 0) std::printf("%s: NCCL all-reduce over %d ranks, %d wrong values on rank 0\n",
                                       ok ? "PASS" : "FAIL", p, wrong);
    code = ok ? 0 : 1;
  } catch (const std::exception& e) {
    FSSL_LOG_ERROR("{}", e.what());
    fssl::MpiEnvironment::abort(1);
  }
  return code;
}
