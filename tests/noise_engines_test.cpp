// The noise of today's serving engines (noise.h): vLLM Model Runner V2's Gumbel variants and SGLang's
// seeded sampler, against independent sources: NVIDIA's libdevice bitcode run on the CPU
// (libdevice_log_golden.txt), Triton's own kernels in its interpreter (triton_random_golden.txt),
// the PyPI mmh3 package (sglang_murmur_golden.txt, vllm_murmur3_golden.txt), the Random123 known
// answers and sglang#25106's reported vector. Generators: tests/data/noise/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

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

// Every golden line: libdevice's own logf(u), log1pf(-u) and both float32 Gumbel chains, on the
// uniforms tl.rand produces (the smallest, the largest, where float32 merges words, and a spread).
// An exhaustive run over all 2^32 float32 inputs of both functions agreed too (docs/sampler-spec.md §7).
TEST(NoiseEngines, LibdeviceLogMatchesLibdeviceBitcode) {
  int n = 0;
  for (const auto& f : read_records(kDataDir + "libdevice_log_golden.txt")) {
    const float u = float_of(hex_u32(f[1]));
    EXPECT_EQ(bits_of(triton_uint_to_uniform_float(static_cast<std::uint32_t>(std::stoul(f[0])))), hex_u32(f[1]));
    EXPECT_EQ(bits_of(libdevice_logf(u)), hex_u32(f[2])) << "logf k=" << f[0];
    EXPECT_EQ(bits_of(libdevice_log1pf(-u)), hex_u32(f[3])) << "log1pf k=" << f[0];
    const float g_log1p = -libdevice_logf(-libdevice_log1pf(-std::max(u, 4.6566127342e-10f)));
    const float g_log = -libdevice_logf(-libdevice_logf(std::max(u, 1e-7f)));
    EXPECT_EQ(bits_of(g_log1p), hex_u32(f[4])) << "G_log1p k=" << f[0];
    EXPECT_EQ(bits_of(g_log), hex_u32(f[5])) << "G_log k=" << f[0];
    ++n;
  }
  EXPECT_EQ(n, 4144);
  // IEEE special values take libdevice's branches.
  EXPECT_EQ(libdevice_logf(0.0f), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(libdevice_logf(1.0f), 0.0f);
  EXPECT_TRUE(std::isnan(libdevice_logf(-1.0f)));
  EXPECT_EQ(libdevice_logf(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bits_of(libdevice_log1pf(-0.0f)), 0x80000000u);
  EXPECT_TRUE(std::isnan(libdevice_log1pf(-2.0f)));
}

// Each variant's row element is its formula applied to Triton's two-level draw, with the row seed at
// the sampled position: the chain lines of the Triton golden give u = rand(randint(seed, pos), token).
TEST(NoiseEngines, VllmMrv2RowsAreTheTwoLevelTritonDraw) {
  int n = 0;
  for (const auto& f : read_records(kDataDir + "triton_random_golden.txt")) {
    if (f[0] != "chain") continue;
    const std::uint64_t seed = hex_u64(f[1]), pos = hex_u64(f[2]), token0 = hex_u64(f[3]);
    const int cols = std::stoi(f[4]);
    std::vector<float> log1p(cols), log7(cols), tiny(cols), eps(cols);
    noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32Log1p, seed, static_cast<std::int64_t>(pos), 1,
                         static_cast<std::int64_t>(token0), cols, log1p.data());
    noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32Log1e7, seed, static_cast<std::int64_t>(pos), 1,
                         static_cast<std::int64_t>(token0), cols, log7.data());
    noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32LogTiny, seed, static_cast<std::int64_t>(pos), 1,
                         static_cast<std::int64_t>(token0), cols, tiny.data());
    noise_rows_vllm_mrv2(VllmMrv2Noise::kFp64Eps20, seed, static_cast<std::int64_t>(pos), 1,
                         static_cast<std::int64_t>(token0), cols, eps.data());
    for (int i = 0; i < cols; ++i) {
      const float u = float_of(hex_u32(f[6 + i]));
      EXPECT_EQ(bits_of(log1p[i]), bits_of(-libdevice_logf(-libdevice_log1pf(-std::max(u, 0x1.fffffep-32f)))));
      EXPECT_EQ(bits_of(log7[i]), bits_of(-libdevice_logf(-libdevice_logf(std::max(u, 1e-7f)))));
      EXPECT_EQ(bits_of(tiny[i]), bits_of(-libdevice_logf(-libdevice_logf(std::max(u, 0x1p-126f)))));
      const double r = u;
      EXPECT_EQ(bits_of(eps[i]), bits_of(static_cast<float>(-std::log(-std::log(r + 1e-20) + 1e-20))));
      ++n;
    }
  }
  EXPECT_EQ(n, 40);
  EXPECT_THROW(noise_rows_vllm_mrv2(VllmMrv2Noise::kFp64Rand64, 1, 0, 1, 0, 1, nullptr), ReplayError);
}

TEST(NoiseEngines, VllmMrv2Fp64UniformCombinesTwoPhiloxWords) {
  // Random123 kat_vectors, counter 0 key 0: {0x6627e8d5, 0xe169c58d, ...}: word 1 is the high half.
  const double want = static_cast<double>((std::uint64_t{0xe169c58d} << 32) | 0x6627e8d5u) * 0x1p-64;
  EXPECT_EQ(triton_rand64_open(0, 0), want);
  // Rows: the row seed is the 32-bit randint at the position, then -log(-log(u)) in float64.
  std::vector<double> row(3);
  noise_rows_vllm_mrv2_fp64(VllmMrv2Noise::kFp64Rand64, 42, 7, 1, 100, 3, row.data());
  const std::uint32_t row_seed = triton_randint(42, 7);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(row[i], -std::log(-std::log(triton_rand64_open(row_seed, 100 + i))));
}

// Counter-based: a tensor-parallel rank's columns and a later row are generated directly.
TEST(NoiseEngines, EngineRowsSliceByColumnAndRow) {
  const int V = 1000;
  std::vector<float> full(2 * V), part(2 * 300), sg_full(2 * V), sg_part(2 * 300);
  noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32Log1p, 0x8000000000000001ull, 30, 2, 0, V, full.data());
  noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32Log1p, 0x8000000000000001ull, 31, 1, 600, 300, part.data());
  EXPECT_TRUE(std::equal(part.begin(), part.begin() + 300, full.begin() + V + 600));
  noise_rows_sglang(SglangNoise::kMurmur3Capped, 9, 30, 2, 0, V, sg_full.data());
  noise_rows_sglang(SglangNoise::kMurmur3Capped, 9, 31, 1, 600, 300, sg_part.data());
  EXPECT_TRUE(std::equal(sg_part.begin(), sg_part.begin() + 300, sg_full.begin() + V + 600));
  EXPECT_FALSE(std::equal(full.begin(), full.begin() + V, full.begin() + V));
}

TEST(NoiseEngines, SglangMurmurMatchesMmh3) {
  int n = 0;
  for (const auto& f : read_records(kDataDir + "sglang_murmur_golden.txt")) {
    EXPECT_EQ(murmur3_key_hash(0, hex_u64(f[0]), hex_u64(f[1]), hex_u32(f[2])), hex_u32(f[3]))
        << "seed " << f[0] << " position " << f[1] << " column " << f[2];
    ++n;
  }
  EXPECT_EQ(n, 325);
  // sglang#25106: this hash is 0xffffffff, so u = 1 and the uncapped noise is +inf; #33423 caps it.
  EXPECT_EQ(murmur3_key_hash(0, 7847, 12345, 1208), 0xffffffffu);
  EXPECT_EQ(sglang_gumbel(SglangNoise::kMurmur3, 0xffffffffu), std::numeric_limits<double>::infinity());
  EXPECT_EQ(sglang_gumbel(SglangNoise::kMurmur3Capped, 0xffffffffu), -std::log(0x1p-32));
  // Hash 0: u = 0, log u clamped to -DBL_MAX, G = -log(DBL_MAX).
  EXPECT_EQ(sglang_gumbel(SglangNoise::kMurmur3, 0u), -std::log(std::numeric_limits<double>::max()));
  // Everything else is the same in both variants: u = h / (2^32 - 1), G = -log(-log u).
  const std::uint32_t h = 0x8134cdf8u;
  EXPECT_EQ(sglang_gumbel(SglangNoise::kMurmur3, h), -std::log(-std::log(h / 4294967295.0)));
  EXPECT_EQ(sglang_gumbel(SglangNoise::kMurmur3Capped, h), sglang_gumbel(SglangNoise::kMurmur3, h));
}

std::uint64_t bits_of_double(double x) {
  std::uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// vllm#51367's Murmur3 noise: hashes (both domains) and uniforms from Triton's interpreter, each hash
// also checked against mmh3 by the generator; the float32 noise from libdevice's own __nv_logf with
// the series fused (Triton <= 3.9) and unfused. Rows start at any column and position.
TEST(NoiseEngines, VllmMurmur3MatchesTritonAndLibdevice) {
  int keys = 0, edges = 0, fusion_differs = 0;
  for (const auto& f : read_records(kDataDir + "vllm_murmur3_golden.txt")) {
    if (f[0] == "edge") {
      const std::uint32_t h = hex_u32(f[1]);
      const float u = vllm_murmur3_uniform(h);
      EXPECT_EQ(bits_of(u), hex_u32(f[2])) << "hash " << f[1];
      EXPECT_EQ(bits_of(vllm_murmur3_gumbel(u, true)), hex_u32(f[3])) << "hash " << f[1];
      EXPECT_EQ(bits_of(vllm_murmur3_gumbel(u, false)), hex_u32(f[4])) << "hash " << f[1];
      ++edges;
      continue;
    }
    const std::uint64_t seed = hex_u64(f[1]), pos = hex_u64(f[2]);
    const std::uint32_t token = hex_u32(f[3]), lo = hex_u32(f[4]), hi = hex_u32(f[5]);
    EXPECT_EQ(murmur3_key_hash(0, seed, pos, token), lo) << f[1] << " " << f[2] << " " << f[3];
    EXPECT_EQ(murmur3_key_hash(0x9e3779b9u, seed, pos, token), hi) << f[1] << " " << f[2] << " " << f[3];
    EXPECT_EQ(bits_of(vllm_murmur3_uniform(lo)), hex_u32(f[6]));
    const double u64 = vllm_murmur3_uniform64(lo, hi);
    EXPECT_EQ(bits_of_double(u64), hex_u64(f[7]));
    float fused = 0.0f, unfused = 0.0f;
    double g64 = 0.0;
    noise_rows_vllm_mrv2(VllmMrv2Noise::kMurmur3, seed, static_cast<std::int64_t>(pos), 1, token, 1, &fused);
    noise_rows_vllm_mrv2(VllmMrv2Noise::kMurmur3Unfused, seed, static_cast<std::int64_t>(pos), 1, token, 1, &unfused);
    noise_rows_vllm_mrv2_fp64(VllmMrv2Noise::kMurmur3Fp64, seed, static_cast<std::int64_t>(pos), 1, token, 1, &g64);
    EXPECT_EQ(bits_of(fused), hex_u32(f[9])) << f[1] << " " << f[2] << " " << f[3];
    EXPECT_EQ(bits_of(unfused), hex_u32(f[10])) << f[1] << " " << f[2] << " " << f[3];
    // float64 log: the C library here and in the generator's Python; the GPU's __nv_log within an ulp.
    const double want = [&] {
      const std::uint64_t b = hex_u64(f[8]);
      double x;
      std::memcpy(&x, &b, sizeof x);
      return x;
    }();
    EXPECT_NEAR(g64, want, 4e-16 * std::fabs(want)) << f[1] << " " << f[2] << " " << f[3];
    fusion_differs += fused != unfused;
    ++keys;
  }
  EXPECT_EQ(keys, 1400);
  EXPECT_EQ(edges, 128);
  EXPECT_GT(fusion_differs, 0);  // the two variants are different noise, so the profile must say which
  // Endpoints: hash 0 is the smallest uniform, 2^-33; the top 128 hashes round to 1.0 (float32),
  // whose noise is finite; the float64 uniform stays below 1.
  EXPECT_EQ(vllm_murmur3_uniform(0), 0x1p-33f);
  EXPECT_EQ(vllm_murmur3_uniform(0xffffffffu), 1.0f);
  EXPECT_TRUE(std::isfinite(vllm_murmur3_gumbel(1.0f, true)));
  EXPECT_EQ(vllm_murmur3_uniform64(0xffffffffu, 0xffffffffu), 1.0 - 0x1p-53);
  EXPECT_EQ(vllm_murmur3_uniform64(0, 0), 0x1p-54);
}

// Rows Triton computed on a GPU (tests/data/noise/capture_triton_mrv2_rows.py via tests/gpu/run.sh):
// the whole chain, log and log1p included, for V up to 262,144. Every committed capture is checked.
TEST(NoiseEngines, VllmMrv2RowsMatchTritonOnTheGpu) {
  const std::vector<std::pair<std::string, VllmMrv2Noise>> variants = {{"fp64-eps20", VllmMrv2Noise::kFp64Eps20},
                                                                       {"fp32-log-1e-7", VllmMrv2Noise::kFp32Log1e7},
                                                                       {"fp32-log-tiny", VllmMrv2Noise::kFp32LogTiny},
                                                                       {"fp32-log1p", VllmMrv2Noise::kFp32Log1p},
                                                                       {"fp64", VllmMrv2Noise::kFp64Rand64},
                                                                       {"murmur3", VllmMrv2Noise::kMurmur3},
                                                                       {"murmur3-unfused", VllmMrv2Noise::kMurmur3Unfused},
                                                                       {"murmur3-fp64", VllmMrv2Noise::kMurmur3Fp64}};
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("vllm_mrv2_triton_", 0) != 0) continue;
    ++files;
    for (const auto& f : read_records(entry.path().string())) {
      const auto it = std::find_if(variants.begin(), variants.end(), [&](const auto& v) { return v.first == f[0]; });
      ASSERT_NE(it, variants.end()) << name << ": variant " << f[0];
      const std::int64_t V = std::stoll(f[1]);
      const std::uint64_t seed = hex_u64(f[2]), pos = hex_u64(f[3]);
      std::string bytes;
      if (vllm_mrv2_fp64(it->second)) {
        std::vector<double> row(static_cast<std::size_t>(V));
        noise_rows_vllm_mrv2_fp64(it->second, seed, static_cast<std::int64_t>(pos), 1, 0, V, row.data());
        bytes.assign(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(double));
      } else {
        std::vector<float> row(static_cast<std::size_t>(V));
        noise_rows_vllm_mrv2(it->second, seed, static_cast<std::int64_t>(pos), 1, 0, V, row.data());
        bytes.assign(reinterpret_cast<const char*>(row.data()), row.size() * sizeof(float));
      }
      EXPECT_EQ(hex_encode(sha256(bytes)), f[4])
          << name << ": " << f[0] << " V " << V << " seed " << f[2] << " pos " << f[3];
    }
  }
  if (files == 0) GTEST_SKIP() << "no GPU capture committed yet (tests/gpu/run.sh writes vllm_mrv2_triton_<gpu>.txt)";
}

}  // namespace
}  // namespace fssl
