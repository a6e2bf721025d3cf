// Noise rows (noise.h) against independent sources: Random123 known answers, ATen's at::philox_engine
// in a literal simulation of PyTorch's CUDA kernel, real PyTorch CPU rows (2.15 and 1.13.1 agree), a
// std::mt19937 program following llama.cpp, and the Python fssl-philox reference checked in exact
// decimal arithmetic. Golden files and their generators: tests/data/noise/ (README.md there).
#include <ATen/core/PhiloxRNGEngine.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../contrib/fssl_philox/fssl_philox.h"
#include "fssl/digest.h"
#include "fssl/error.h"
#include "fssl/noise.h"
#include "golden_file.h"

namespace fssl {
namespace {

const std::string kDataDir = std::string(FSSL_TEST_DATA_DIR) + "/noise/";

using test::bits_of;
using test::float_of;
using test::hex_u32;
using test::hex_u64;
using test::read_records;

std::string sha256_hex(const std::vector<float>& row) {
  return hex_encode(sha256(std::string_view(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float))));
}

// ---- Philox4x32-10 ----

TEST(Noise, PhiloxMatchesRandom123KnownAnswers) {
  // Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (std::array<std::uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
            (std::array<std::uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
            (std::array<std::uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Noise, PhiloxMatchesAtenEngineSeedSubsequenceOffsetLayout) {
  // at::philox_engine(seed, subsequence, offset): offset counts 128-bit blocks (cuRAND's skipahead
  // counts 32-bit outputs, so PyTorch's CUDA offsets, always multiples of 4, map to offset / 4).
  struct Case {
    std::uint64_t seed, subsequence, offset;
  };
  for (const Case& c : {Case{0, 0, 0}, Case{42, 7, 3}, Case{0x123456789abcdef0ull, (1ull << 32) + 9, 0xffffffffull},
                        Case{~0ull, 270335, (1ull << 40) + 5}}) {
    at::philox_engine engine(c.seed, c.subsequence, c.offset);
    const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(c.seed),
                                           static_cast<std::uint32_t>(c.seed >> 32)};
    for (std::uint64_t block = 0; block < 3; ++block) {  // consecutive blocks: the 64-bit counter carries
      const std::uint64_t n = c.offset + block;
      const auto want = philox4x32_10({static_cast<std::uint32_t>(n), static_cast<std::uint32_t>(n >> 32),
                                       static_cast<std::uint32_t>(c.subsequence),
                                       static_cast<std::uint32_t>(c.subsequence >> 32)},
                                      key);
      for (int w = 0; w < 4; ++w) EXPECT_EQ(engine(), want[w]) << "seed " << c.seed << " block " << block;
    }
  }
}

// ---- vllm-cuda ----

// curand_uniform written out independently, then the u -> E transform under test elsewhere (against
// the device's own values: VllmCudaExponentialMatchesDeviceNearOne, VllmCudaMatchesCapturedGpuRows);
// the literal simulation below pins which Philox word lands on which element.
float cuda_transform(std::uint32_t word) {
  const float u = static_cast<float>(word) * 2.3283064365386963e-10f + 1.1641532182693481e-10f;
  return noise_exponential_vllm_cuda(u);
}

// A literal CPU run of distribution_nullary_kernel + distribution_elementwise_grid_stride_kernel
// (cuda/DistributionTemplates.h) for n_rows consecutive exponential_ calls on one generator:
// every thread of the launch seeds at::philox_engine with (seed, thread, offset / 4) and walks
// its grid-stride loop, four elements per curand_uniform4.
std::vector<std::vector<float>> simulate_cuda_rows(std::uint64_t seed, std::uint32_t sm_count,
                                                   std::uint32_t max_threads_per_sm, std::int64_t numel,
                                                   int n_rows, bool uniform_only = false) {
  const std::uint32_t block = 256, unroll = 4;
  const std::uint64_t n = static_cast<std::uint64_t>(numel);
  const std::uint64_t grid = std::min<std::uint64_t>((n + block - 1) / block, sm_count * (max_threads_per_sm / block));
  const std::uint64_t threads = block * grid;
  std::uint64_t increment = ((n - 1) / (threads * unroll) + 1) * 4;  // calc_execution_policy
  increment = (increment + 3) / 4 * 4;                              // philox_cuda_state rounds up
  const std::uint64_t rounded = ((n - 1) / (threads * unroll) + 1) * threads * unroll;
  std::uint64_t generator_offset = 0;  // manual_seed resets it
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < n_rows; ++r) {
    std::vector<float> out(n);
    for (std::uint64_t idx = 0; idx < threads; ++idx) {
      at::philox_engine engine(seed, idx, generator_offset / 4);
      for (std::uint64_t linear = idx; linear < rounded; linear += threads * unroll) {
        std::uint32_t words[4];
        for (auto& w : words) w = engine();
        for (std::uint32_t ii = 0; ii < unroll; ++ii) {
          const std::uint64_t li = linear + threads * ii;
          if (li >= n) continue;
          if (uniform_only) {  // torch.rand: curand_uniform, with 1.0 folded to 0.0
            const float u = static_cast<float>(words[ii]) * 2.3283064365386963e-10f + 1.1641532182693481e-10f;
            out[li] = u == 1.0f ? 0.0f : u;
          } else {
            out[li] = cuda_transform(words[ii]);
          }
        }
      }
    }
    generator_offset += increment;
    rows.push_back(std::move(out));
  }
  return rows;
}

std::vector<float> vllm_rows(std::uint64_t seed, std::int64_t sm, std::int64_t max_threads, std::int64_t vocab,
                             std::int64_t first_row, std::int64_t n_rows, std::int64_t begin, std::int64_t n_cols) {
  std::vector<float> out(static_cast<std::size_t>(n_rows * n_cols));
  noise_rows_vllm_cuda(seed, sm, max_threads, vocab, first_row, n_rows, begin, n_cols, out.data());
  return out;
}

TEST(Noise, VllmCudaMatchesLiteralKernelSimulation) {
  struct Case {
    std::uint64_t seed;
    std::uint32_t sm, max_threads;
    std::int64_t vocab;
  };
  // Uncapped (H100, small V); capped grids whose threads make 2 to 6 curand_uniform4 draws (the
  // offset advancing by 8 to 24 per row), one with max_threads_per_sm not a multiple of 256; V
  // above the H100 cap of 270336.
  for (const Case& c : {Case{42, 132, 2048, 1000}, Case{(1ull << 63) + 5, 2, 512, 5000}, Case{7, 1, 256, 5121},
                        Case{3, 1, 300, 1025}, Case{11, 132, 2048, 300000}}) {
    const auto want = simulate_cuda_rows(c.seed, c.sm, c.max_threads, c.vocab, 3);
    const auto got = vllm_rows(c.seed, c.sm, c.max_threads, c.vocab, 0, 3, 0, c.vocab);
    for (std::size_t r = 0; r < want.size(); ++r) {
      std::int64_t mismatches = 0;
      for (std::int64_t i = 0; i < c.vocab; ++i) {
        mismatches += bits_of(got[r * c.vocab + i]) != bits_of(want[r][i]);
      }
      EXPECT_EQ(mismatches, 0) << "seed " << c.seed << " sm " << c.sm << " V " << c.vocab << " row " << r;
    }
  }
}

TEST(Noise, VllmCudaRowsAdvanceTheOffsetByTheDocumentedIncrement) {
  const std::uint64_t seed = 1234;
  const std::array<std::uint32_t, 2> key{1234, 0};
  // Uncapped grid: one Philox block per element and row, row j at block j (offset 4j: the "-4"
  // rewind vLLM uses for discarded partial-prefill samples), word x only.
  const auto rows = vllm_rows(seed, 132, 2048, 128256, 0, 3, 0, 128256);
  for (std::uint32_t j = 0; j < 3; ++j) {
    for (std::uint32_t i : {0u, 1u, 255u, 256u, 70001u, 128255u}) {
      EXPECT_EQ(bits_of(rows[j * 128256 + i]), bits_of(cuda_transform(philox4x32_10({j, 0, i, 0}, key)[0])))
          << "row " << j << " element " << i;
    }
  }
  // Another V under the cap reproduces the common prefix (a verifier may use the tokenizer length).
  const auto shorter = vllm_rows(seed, 132, 2048, 50000, 0, 3, 0, 50000);
  for (int j = 0; j < 3; ++j) {
    EXPECT_TRUE(std::equal(shorter.begin() + j * 50000, shorter.begin() + (j + 1) * 50000, rows.begin() + j * 128256));
  }
  // Capped grid with V > 4 * cap: two draws per thread, increment 8, row 1 starts at block 2.
  const auto wide = vllm_rows(seed, 2, 512, 5000, 1, 1, 0, 5000);  // cap = 1024 threads
  EXPECT_EQ(bits_of(wide[17]), bits_of(cuda_transform(philox4x32_10({2, 0, 17, 0}, key)[0])));
  EXPECT_EQ(bits_of(wide[17 + 1024]), bits_of(cuda_transform(philox4x32_10({2, 0, 17, 0}, key)[1])));
  EXPECT_EQ(bits_of(wide[17 + 4096]), bits_of(cuda_transform(philox4x32_10({3, 0, 17, 0}, key)[0])));
}

TEST(Noise, VllmCudaGridCapMakesValuesDependOnSmCountOnlyAboveTheCap) {
  const std::int64_t llama3 = 128256;
  // H100 (132 x 2048 = 270336) and A100 (108 x 2048 = 221184) both run Llama-3 uncapped.
  EXPECT_EQ(vllm_rows(5, 132, 2048, llama3, 0, 2, 0, llama3), vllm_rows(5, 108, 2048, llama3, 0, 2, 0, llama3));
  // L4 (58 x 1536 = 89088) caps it: identical below the cap, different from the cap on.
  const auto h100 = vllm_rows(5, 132, 2048, llama3, 0, 1, 0, llama3);
  const auto l4 = vllm_rows(5, 58, 1536, llama3, 0, 1, 0, llama3);
  EXPECT_TRUE(std::equal(h100.begin(), h100.begin() + 89088, l4.begin()));
  std::int64_t differ = 0;
  for (std::int64_t i = 89088; i < llama3; ++i) differ += h100[i] != l4[i];
  EXPECT_GT(differ, (llama3 - 89088) * 99 / 100);
  // V = 300000 exceeds the H100 cap too: H100 and A100 agree only below the A100 cap.
  const auto h = vllm_rows(9, 132, 2048, 300000, 0, 1, 0, 300000);
  const auto a = vllm_rows(9, 108, 2048, 300000, 0, 1, 0, 300000);
  EXPECT_TRUE(std::equal(h.begin(), h.begin() + 221184, a.begin()));
  differ = 0;
  for (std::int64_t i = 221184; i < 300000; ++i) differ += h[i] != a[i];
  EXPECT_GT(differ, (300000 - 221184) * 99 / 100);
}

TEST(Noise, VllmCudaVocabSliceEqualsFullRow) {
  const std::int64_t vocab = 151936;
  for (const std::int64_t sm : {132, 20}) {  // uncapped and capped (20 x 2048 = 40960)
    const auto full = vllm_rows(77, sm, 2048, vocab, 2, 3, 0, vocab);
    for (const auto& [begin, n] : {std::pair<std::int64_t, std::int64_t>{0, 100}, {40900, 200}, {vocab - 37, 37}}) {
      const auto slice = vllm_rows(77, sm, 2048, vocab, 3, 2, begin, n);
      for (std::int64_t r = 0; r < 2; ++r) {
        EXPECT_TRUE(
            std::equal(slice.begin() + r * n, slice.begin() + (r + 1) * n, full.begin() + (r + 1) * vocab + begin))
            << "sm " << sm << " columns " << begin << "+" << n << " row " << r + 3;
      }
    }
  }
}

TEST(Noise, VllmCudaRejectsInvalidArguments) {
  float out[4];
  EXPECT_THROW(noise_rows_vllm_cuda(1, 132, 2048, 100, 0, 1, 98, 4, out), ReplayError);
  EXPECT_THROW(noise_rows_vllm_cuda(1, 0, 2048, 100, 0, 1, 0, 4, out), ReplayError);
  EXPECT_THROW(noise_rows_vllm_cuda(1, 132, 128, 100, 0, 1, 0, 4, out), ReplayError);
  EXPECT_THROW(noise_rows_vllm_cuda(1, 132, 2048, 100, -1, 1, 0, 4, out), ReplayError);
}

// Compares with rows captured on a GPU by tests/data/noise/capture_vllm_cuda_rows.py. The uniforms
// (torch.rand, same kernel and offsets) must match bit for bit; E also passes through the device's
// lg2.approx: bit for bit where fssl uses the captured table (u >= 1 - 2^-12), else within the
// 2.1e-4 relative bound measured over all 2^32 words (tests/gpu/lg2_model_bound.cu).
TEST(Noise, VllmCudaMatchesCapturedGpuRows) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("vllm_cuda_golden", 0) == 0 && entry.path().extension() == ".txt") {
      files.push_back(entry.path().string());
    }
  }
  if (files.empty()) {
    GTEST_SKIP() << "no GPU capture in " << kDataDir << " (run tests/data/noise/capture_vllm_cuda_rows.py on a "
                 << "GPU machine and commit vllm_cuda_golden_<gpu>.txt)";
  }
  for (const std::string& path : files) {
    std::int64_t sm = 0, max_threads = 0, vocab = 0, n_exact = 0, n_values = 0;
    std::uint64_t seed = 0;
    std::vector<std::vector<float>> uniforms;  // simulated torch.rand rows of the current case
    std::vector<float> row;                    // fssl's E row j of the current case
    std::size_t j = 0;
    for (const auto& f : read_records(path)) {
      if (f[0] == "device") {
        sm = std::stoll(f[1]);
        max_threads = std::stoll(f[2]);
      } else if (f[0] == "case") {
        seed = std::stoull(f[1]);
        vocab = std::stoll(f[2]);
        uniforms = simulate_cuda_rows(seed, static_cast<std::uint32_t>(sm), static_cast<std::uint32_t>(max_threads),
                                      vocab, std::stoi(f[3]), /*uniform_only=*/true);
      } else if (f[0] == "row") {
        j = std::stoul(f[1]);
        row = vllm_rows(seed, sm, max_threads, vocab, static_cast<std::int64_t>(j), 1, 0, vocab);
        EXPECT_EQ(sha256_hex(uniforms[j]), f[3]) << path << ": uniform row " << j << " of seed " << seed;
      } else if (f[0] == "u") {
        EXPECT_EQ(bits_of(uniforms[j][std::stoul(f[1])]), hex_u32(f[2])) << path << ": u[" << f[1] << "] row " << j;
      } else if (f[0] == "e") {
        const float gpu = float_of(hex_u32(f[2]));
        const float mine = row[std::stoul(f[1])];
        if (uniforms[j][std::stoul(f[1])] >= 1.0f - 0x1p-12f) {
          EXPECT_EQ(bits_of(mine), bits_of(gpu)) << path << ": E[" << f[1] << "] row " << j << " (table range)";
        }
        EXPECT_LE(std::fabs(gpu - mine), 2.2e-4f * gpu) << path << ": E[" << f[1] << "] row " << j;
        n_exact += bits_of(gpu) == bits_of(mine);
        ++n_values;
      }
    }
    std::printf("%s: %lld of %lld sampled E values bit-identical to fssl's CPU model\n", path.c_str(),
                static_cast<long long>(n_exact), static_cast<long long>(n_values));
  }
}

// The device's E = -__logf(u) for every float u in [1 - 2^-8, 1), captured on an H100 by
// tests/gpu/lg2_model_bound.cu: fssl's CPU model is bit-exact from 1 - 2^-12 (its table) and within
// 2.2e-4 relative below; at and above 1 - 2^-24 torch takes E = 2^-24 without a log.
TEST(Noise, VllmCudaExponentialMatchesDeviceNearOne) {
  std::ifstream in(kDataDir + "logf_near_one_h100.f32", std::ios::binary);
  std::vector<std::uint32_t> device(65536);
  ASSERT_TRUE(in.read(reinterpret_cast<char*>(device.data()), device.size() * 4)) << "logf_near_one_h100.f32";
  std::int64_t identical = 0;
  for (std::size_t i = 0; i + 1 < device.size(); ++i) {
    const float u = (1.0f - 0x1p-8f) + static_cast<float>(i) * 0x1p-24f;
    const float mine = noise_exponential_vllm_cuda(u);
    const float gpu = float_of(device[i]);
    if (u >= 1.0f - 0x1p-12f) {
      EXPECT_EQ(bits_of(mine), device[i]) << "u = 1 - " << (65536 - i) << " * 2^-24";
    } else {
      EXPECT_LE(std::fabs(mine - gpu), 2.2e-4f * gpu) << "u = 1 - " << (65536 - i) << " * 2^-24";
    }
    identical += bits_of(mine) == device[i];
  }
  EXPECT_EQ(noise_exponential_vllm_cuda(1.0f - 0x1p-24f), 0x1p-24f);
  EXPECT_EQ(noise_exponential_vllm_cuda(1.0f), 0x1p-24f);
  EXPECT_GE(identical, 4095);  // the whole table range
}

// ---- hf-torch-cpu ----

struct HfRow {
  std::uint64_t seed;
  std::int64_t vocab, batch, step, batch_row;
  std::string sha;
  std::map<std::int64_t, std::uint32_t> values;  // index -> float32 bits
};

std::vector<HfRow> read_hf_rows() {
  std::vector<HfRow> rows;
  std::uint64_t seed = 0;
  std::int64_t vocab = 0, batch = 0;
  for (const auto& f : read_records(kDataDir + "hf_torch_cpu_golden.txt")) {
    if (f[0] == "case") {
      seed = std::stoull(f[1]);
      vocab = std::stoll(f[2]);
      batch = std::stoll(f[3]);
    } else if (f[0] == "row") {
      rows.push_back({seed, vocab, batch, std::stoll(f[1]), std::stoll(f[2]), f[3], {}});
    } else if (f[0] == "val") {
      rows.back().values[std::stoll(f[1])] = hex_u32(f[2]);
    }
  }
  return rows;
}

TEST(Noise, HfTorchCpuMatchesPyTorchRows) {
  const auto rows = read_hf_rows();
  ASSERT_EQ(rows.size(), 3u + 8u + 6u + 2u + 80u);
  for (const HfRow& g : rows) {
    std::vector<float> out(static_cast<std::size_t>(g.vocab));
    noise_rows_hf_torch_cpu(g.seed, g.batch, g.batch_row, g.vocab, g.step, 1, 0, g.vocab, out.data());
    EXPECT_EQ(sha256_hex(out), g.sha) << "seed " << g.seed << " V " << g.vocab << " step " << g.step << " row "
                                      << g.batch_row;
    for (const auto& [i, b] : g.values) EXPECT_EQ(bits_of(out[i]), b) << "seed " << g.seed << " index " << i;
  }
}

TEST(Noise, HfTorchCpuSlicesOverStepsMatchPyTorchRows) {
  const auto rows = read_hf_rows();
  // (seed, batch_row, first_row, n_rows, vocab_begin, n_cols) against the rows PyTorch wrote.
  struct Slice {
    std::uint64_t seed;
    std::int64_t batch_row, first_row, n_rows, begin, n;
  };
  for (const Slice& s : {Slice{42, 2, 0, 2, 20000, 30257}, Slice{7, 1, 30, 10, 3, 11}, Slice{0, 0, 1, 2, 0, 509}}) {
    const HfRow& any = *std::find_if(rows.begin(), rows.end(), [&](const HfRow& g) { return g.seed == s.seed; });
    std::vector<float> out(static_cast<std::size_t>(s.n_rows * s.n));
    noise_rows_hf_torch_cpu(s.seed, any.batch, s.batch_row, any.vocab, s.first_row, s.n_rows, s.begin, s.n, out.data());
    int checked = 0;
    for (const HfRow& g : rows) {
      if (g.seed != s.seed || g.batch_row != s.batch_row || g.step < s.first_row || g.step >= s.first_row + s.n_rows) {
        continue;
      }
      for (const auto& [i, b] : g.values) {
        if (i < s.begin || i >= s.begin + s.n) continue;
        EXPECT_EQ(bits_of(out[(g.step - s.first_row) * s.n + (i - s.begin)]), b) << "seed " << s.seed << " step "
                                                                                   << g.step << " index " << i;
        ++checked;
      }
    }
    EXPECT_GT(checked, 5) << "seed " << s.seed;
  }
}

// ---- llamacpp-dist ----

TEST(Noise, LlamacppStreamMatchesStdUniformRealDistributionProgram) {
  std::map<std::uint32_t, std::map<int, double>> golden;  // seed -> draw index -> value
  for (const auto& f : read_records(kDataDir + "llamacpp_dist_golden.txt")) {
    golden[static_cast<std::uint32_t>(std::stoul(f[0]))][std::stoi(f[1])] = std::strtod(f[2].c_str(), nullptr);
  }
  ASSERT_EQ(golden.size(), 6u);
  for (const auto& [seed, draws] : golden) {
    LlamacppUniformStream stream(seed);
    for (int i = 0; i <= draws.rbegin()->first; ++i) {
      const double r = stream.next();
      ASSERT_TRUE(r >= 0.0 && r < 1.0);
      if (draws.count(i)) {
        EXPECT_EQ(r, draws.at(i)) << "seed " << seed << " draw " << i;
      }
    }
  }
}

// ---- fssl-philox ----

TEST(Noise, FsslPhiloxRowsMatchPythonReference) {
  int n_rows = 0;
  for (const auto& f : read_records(kDataDir + "fssl_philox_golden.txt")) {
    if (f[0] != "row" && f[0] != "grow") continue;
    const std::uint64_t seed = hex_u64(f[1]), row = hex_u64(f[2]), begin = hex_u64(f[3]);
    const std::int64_t n = std::stoll(f[4]);
    std::vector<float> e(static_cast<std::size_t>(n));
    noise_rows_fssl_philox(seed, static_cast<std::int64_t>(row), 1, static_cast<std::int64_t>(begin), n, e.data());
    for (std::int64_t c = 0; c < n; ++c) {
      const float got = f[0] == "row" ? e[c] : noise_gumbel_fssl_philox(e[c]);
      EXPECT_EQ(bits_of(got), hex_u32(f[5 + c]))
          << f[0] << " seed " << seed << " row " << row << " token " << begin + c;
    }
    ++n_rows;
  }
  EXPECT_EQ(n_rows, 14);
}

TEST(Noise, FsslPhiloxHardCasesAreCorrectlyRounded) {
  // hardE/hardG/word values were checked against exact decimal logarithms by the generator.
  int n_hard = 0, n_words = 0;
  for (const auto& f : read_records(kDataDir + "fssl_philox_golden.txt")) {
    if (f[0] == "hardE") {
      EXPECT_EQ(bits_of(fssl_philox::exp1_from_word(hex_u32(f[1]))), hex_u32(f[2])) << "word " << f[1];
      ++n_hard;
    } else if (f[0] == "hardG") {
      EXPECT_EQ(bits_of(noise_gumbel_fssl_philox(float_of(hex_u32(f[1])))), hex_u32(f[2])) << "E bits " << f[1];
      ++n_hard;
    } else if (f[0] == "word") {
      const float e = fssl_philox::exp1_from_word(hex_u32(f[1]));
      EXPECT_EQ(bits_of(e), hex_u32(f[2])) << "word " << f[1];
      EXPECT_EQ(bits_of(noise_gumbel_fssl_philox(e)), hex_u32(f[3])) << "word " << f[1];
      ++n_words;
    }
  }
  EXPECT_EQ(n_hard, 86);
  EXPECT_EQ(n_words, 408);
}

TEST(Noise, FsslPhiloxSamplingRuleMatchesPythonReference) {
  int n_cases = 0;
  for (const auto& f : read_records(kDataDir + "fssl_philox_golden.txt")) {
    if (f[0] != "sample") continue;
    const std::size_t n = std::stoul(f[5]);
    std::vector<float> logits(n);
    for (std::size_t i = 0; i < n; ++i) logits[i] = float_of(hex_u32(f[6 + i]));
    EXPECT_EQ(fssl_philox::sample_row(logits.data(), n, float_of(hex_u32(f[3])), hex_u64(f[1]), hex_u64(f[2])),
              std::stoll(f[4]))
        << "seed " << f[1] << " row " << f[2];
    ++n_cases;
  }
  EXPECT_EQ(n_cases, 8);
}

TEST(Noise, FsslPhiloxUsesTheDocumentedCounterLayout) {
  // docs/sampler-spec.md: key = seed (lo, hi); counter = (token / 4, row lo, row hi, "FSN1"); word token % 4.
  const std::uint64_t seed = 0xfedcba9876543210ull, row = (1ull << 32) + 3;
  std::vector<float> e(10);
  noise_rows_fssl_philox(seed, static_cast<std::int64_t>(row), 1, 1021, 10, e.data());
  for (std::uint32_t c = 0; c < 10; ++c) {
    const std::uint32_t token = 1021 + c;
    const auto words = philox4x32_10({token / 4, 3, 1, 0x46534E31}, {0x76543210, 0xfedcba98});
    const double u = (static_cast<double>(words[token % 4]) + 0.5) / 4294967296.0;
    // RN32 of a double log is exact off the 83 hard-case words (none of these 10).
    EXPECT_EQ(bits_of(e[c]), bits_of(static_cast<float>(-std::log(u)))) << "token " << token;
  }
}

TEST(Noise, FsslPhiloxSlicesEqualFullRowsAndRowsAreIndependent) {
  const std::int64_t vocab = 1000;
  std::vector<float> full(6 * vocab);
  noise_rows_fssl_philox(99, 0, 6, 0, vocab, full.data());
  // One row alone, a shifted batch of rows, a padded vocabulary and odd column slices all agree.
  std::vector<float> one(vocab), padded(3 * 1024), slice(2 * 333);
  noise_rows_fssl_philox(99, 4, 1, 0, vocab, one.data());
  EXPECT_TRUE(std::equal(one.begin(), one.end(), full.begin() + 4 * vocab));
  noise_rows_fssl_philox(99, 3, 3, 0, 1024, padded.data());
  for (int r = 0; r < 3; ++r) {
    EXPECT_TRUE(
        std::equal(padded.begin() + r * 1024, padded.begin() + r * 1024 + vocab, full.begin() + (3 + r) * vocab));
  }
  noise_rows_fssl_philox(99, 1, 2, 333, 333, slice.data());
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(
        std::equal(slice.begin() + r * 333, slice.begin() + (r + 1) * 333, full.begin() + (1 + r) * vocab + 333));
  }
  // Different rows and seeds are different streams.
  EXPECT_FALSE(std::equal(full.begin(), full.begin() + vocab, full.begin() + vocab));
  std::vector<float> other(vocab);
  noise_rows_fssl_philox(98, 0, 1, 0, vocab, other.data());
  EXPECT_FALSE(std::equal(other.begin(), other.end(), full.begin()));
  EXPECT_THROW(noise_gumbel_fssl_philox(0.0f), ReplayError);
}

// Triton's tl.randint / tl.rand as Triton's own kernels computed them in its interpreter
// (tests/data/noise/gen_triton_random_golden.py): 32- and 64-bit seeds (a negative int64 one too),
// offsets past 2^32, and Model Runner V2's two-level draw rand(randint(seed, pos), token).
TEST(Noise, TritonRandomMatchesTritonKernels) {
  int n_lines = 0;
  for (const auto& f : read_records(kDataDir + "triton_random_golden.txt")) {
    const std::uint64_t seed = hex_u64(f[1]), base = hex_u64(f[2]);
    if (f[0] == "chain") {
      const std::uint64_t token0 = hex_u64(f[3]);
      const std::uint32_t gumbel_seed = triton_randint(seed, base);
      EXPECT_EQ(gumbel_seed, hex_u32(f[5])) << "seed " << f[1] << " pos " << f[2];
      for (int i = 0; i < std::stoi(f[4]); ++i) {
        EXPECT_EQ(bits_of(triton_rand(gumbel_seed, token0 + i)), hex_u32(f[6 + i])) << "chain seed " << f[1];
      }
    } else {
      for (int i = 0; i < std::stoi(f[3]); ++i) {
        const std::uint32_t want = hex_u32(f[4 + i]);
        const std::uint32_t got =
            f[0] == "randint" ? triton_randint(seed, base + i) : bits_of(triton_rand(seed, base + i));
        EXPECT_EQ(got, want) << f[0] << " seed " << f[1] << " offset " << f[2] << " + " << i;
      }
    }
    ++n_lines;
  }
  EXPECT_EQ(n_lines, 131);
}

TEST(Noise, TritonUniformIsInTheHalfOpenUnitInterval) {
  // The extremes of uint_to_uniform_float: 0 and ~0 map to 0; 2^31 - 1 and 2^31 to the largest
  // value, which rounds below 1 (the scale was chosen for that).
  EXPECT_EQ(triton_uint_to_uniform_float(0u), 0.0f);
  EXPECT_EQ(triton_uint_to_uniform_float(0xFFFFFFFFu), 0.0f);
  EXPECT_LT(triton_uint_to_uniform_float(0x7FFFFFFFu), 1.0f);
  EXPECT_EQ(triton_uint_to_uniform_float(0x7FFFFFFFu), triton_uint_to_uniform_float(0x80000000u));
  // randint's first word is Random123's Philox4x32-10 known answer for counter 0, key 0.
  EXPECT_EQ(triton_randint(0, 0), 0x6627e8d5u);
}

}  // namespace
}  // namespace fssl
