// GPU check of noise_rows_vllm_cuda_device (noise_cuda.h): on the device it must reproduce torch's
// CUDA exponential_ bit for bit. Reads the captured golden files (tests/data/noise/
// vllm_cuda_golden_*.txt, written by capture_vllm_cuda_rows.py on a real GPU) and, for the cases
// captured on a GPU with this device's SM count, compares every sampled E value; with --torch-dir,
// also compares whole rows dumped by torch on this machine (tests/gpu/run.sh writes them). Checks
// that a column slice (a tensor-parallel shard) equals the same columns of the full row.
// Exits 0 with "SKIP" when no CUDA device is usable; 1 on any mismatch.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fssl/noise_cuda.h"

namespace {

bool check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return true;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(status));
  return false;
}

std::vector<float> device_rows(std::uint64_t seed, int sm, int max_threads, std::int64_t vocab, std::int64_t first_row,
                               std::int64_t n_rows, std::int64_t begin, std::int64_t n_cols) {
  std::vector<float> host(static_cast<std::size_t>(n_rows * n_cols));
  float* device = nullptr;
  if (!check(cudaMalloc(&device, host.size() * sizeof(float) + 4), "cudaMalloc") ||
      !check(fssl::noise_rows_vllm_cuda_device(seed, sm, max_threads, vocab, first_row, n_rows, begin, n_cols, device,
                                               nullptr),
             "noise_rows_vllm_cuda_device") ||
      !check(cudaMemcpy(host.data(), device, host.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy")) {
    std::exit(1);
  }
  cudaFree(device);
  return host;
}

std::uint32_t bits(float f) {
  std::uint32_t b = 0;
  std::memcpy(&b, &f, 4);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  int n_devices = 0;
  if (cudaGetDeviceCount(&n_devices) != cudaSuccess || n_devices == 0) {
    std::printf("SKIP: no usable CUDA device\n");
    return 0;
  }
  cudaDeviceProp props{};
  if (!check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties")) return 1;
  std::string torch_dir;
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--torch-dir") == 0 && a + 1 < argc) {
      torch_dir = argv[++a];
    } else {
      files.emplace_back(argv[a]);
    }
  }
  long long compared = 0, mismatched = 0, whole_rows = 0;
  for (const std::string& path : files) {
    std::ifstream in(path);
    std::string line;
    int sm = 0, max_threads = 0;
    std::uint64_t seed = 0;
    std::int64_t vocab = 0, n_rows = 0, row = 0;
    std::vector<float> rows;
    bool usable = false;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string kind;
      f >> kind;
      if (kind == "device") {
        f >> sm >> max_threads;
        usable = sm == props.multiProcessorCount && max_threads == props.maxThreadsPerMultiProcessor;
        if (!usable) std::printf("%s: captured on sm_count %d, this GPU has %d: skipped\n", path.c_str(), sm,
                                 props.multiProcessorCount);
      } else if (kind == "case" && usable) {
        f >> seed >> vocab >> n_rows;
        rows = device_rows(seed, sm, max_threads, vocab, 0, n_rows, 0, vocab);
        // A shard of the last rows and a middle column range equals the full rows' columns.
        const std::int64_t begin = vocab / 3, n_cols = vocab / 3 + 1, first = n_rows > 1 ? 1 : 0;
        const auto slice = device_rows(seed, sm, max_threads, vocab, first, n_rows - first, begin, n_cols);
        for (std::int64_t r = 0; r < n_rows - first; ++r) {
          for (std::int64_t c = 0; c < n_cols; ++c) {
            if (bits(slice[r * n_cols + c]) != bits(rows[(first + r) * vocab + begin + c])) {
              if (++mismatched < 10) std::printf("slice mismatch seed %llu row %lld col %lld\n",
                                                 static_cast<unsigned long long>(seed), static_cast<long long>(first + r),
                                                 static_cast<long long>(begin + c));
            }
          }
        }
        if (!torch_dir.empty()) {
          const std::string dump = torch_dir + "/" + std::to_string(seed) + "_" + std::to_string(vocab) + ".f32";
          std::ifstream torch_rows(dump, std::ios::binary);
          std::vector<float> expect(rows.size());
          if (torch_rows.read(reinterpret_cast<char*>(expect.data()), expect.size() * 4)) {
            for (std::size_t i = 0; i < rows.size(); ++i) {
              if (bits(rows[i]) != bits(expect[i]) && ++mismatched < 10) {
                std::printf("torch row mismatch seed %llu element %zu: %08x vs torch %08x\n",
                            static_cast<unsigned long long>(seed), i, bits(rows[i]), bits(expect[i]));
              }
            }
            whole_rows += n_rows;
          } else {
            std::printf("no torch dump %s\n", dump.c_str());
          }
        }
      } else if (kind == "row" && usable) {
        f >> row;
      } else if (kind == "e" && usable) {
        std::int64_t index = 0;
        std::string hex;
        f >> index >> hex;
        const std::uint32_t expect = static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16));
        ++compared;
        if (bits(rows[row * vocab + index]) != expect && ++mismatched < 10) {
          std::printf("%s: seed %llu row %lld E[%lld] = %08x, captured %08x\n", path.c_str(),
                      static_cast<unsigned long long>(seed), static_cast<long long>(row),
                      static_cast<long long>(index), bits(rows[row * vocab + index]), expect);
        }
      }
    }
  }
  std::printf("vllm-cuda device rows: %lld captured E values and %lld whole torch rows compared, %lld mismatches\n",
              compared, whole_rows, mismatched);
  if (compared == 0 && whole_rows == 0) std::printf("SKIP: no capture for this GPU's SM count\n");
  return mismatched == 0 ? 0 : 1;
}
