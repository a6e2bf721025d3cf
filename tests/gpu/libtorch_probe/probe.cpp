// Checks what fssl's GPU path (issue 9) relies on in a CUDA libtorch from C++: a seeded CUDA
// generator whose exponential_ row matches Python's (printed by tests/gpu/run.sh beside it), the
// ABI flag and version of the wheel's libtorch, and bf16 matmul speed through at::matmul.
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstring>

int main() {
  std::printf("libtorch %s, _GLIBCXX_USE_CXX11_ABI=%d, cuda available %d\n", TORCH_VERSION,
              static_cast<int>(_GLIBCXX_USE_CXX11_ABI), static_cast<int>(at::cuda::is_available()));
  if (!at::cuda::is_available()) return 1;
  at::Generator gen = at::cuda::detail::createCUDAGenerator(0);
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(42);
  }
  const auto row = at::empty({128256}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA)).exponential_(1.0, gen);
  const auto host = row.cpu();
  const float* e = host.data_ptr<float>();
  std::printf("exponential row seed 42 V 128256: bits");
  for (int i : {0, 1, 2, 3, 64000, 128255}) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, e + i, 4);
    std::printf(" [%d]=%08x", i, bits);
  }
  std::printf("\n");
  const auto opts = at::TensorOptions().dtype(at::kBFloat16).device(at::kCUDA);
  const auto a = at::randn({8192, 8192}, opts), b = at::randn({8192, 8192}, opts);
  for (int i = 0; i < 3; ++i) at::matmul(a, b);
  at::cuda::getCurrentCUDAStream().synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  constexpr int kReps = 10;
  for (int i = 0; i < kReps; ++i) at::matmul(a, b);
  at::cuda::getCurrentCUDAStream().synchronize();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bf16 8192^3 matmul via at::matmul: %.0f TFLOP/s\n", 2.0 * 8192.0 * 8192.0 * 8192.0 * kReps / s / 1e12);
  return 0;
}
