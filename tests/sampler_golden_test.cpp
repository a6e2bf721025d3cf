// End-to-end golden tests of samplers: tokens sampled by vLLM V1's PyTorch-native sampler on a real
// GPU (tests/data/noise/capture_vllm_cuda_tokens.py: temperature, min-p, top-k, top-p, float32
// softmax, argmax probs / exponential_ noise), and by SGLang's seeded top-k / top-p sampler written
// in PyTorch (gen_sglang_sorted_golden.py: sort, cut, rank-keyed Murmur3 noise), must be the tokens
// fssl's server and scoring pick, from the same logits and the logged seed alone. The logits are
// integer formulas both sides compute, so no fixture of megabytes is needed.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "fssl/comm.h"
#include "fssl/digest.h"
#include "fssl/sampler_profile.h"
#include "fssl/scoring.h"
#include "golden_file.h"
#include "sglang_sorted_golden.h"

namespace fssl {
namespace {

const std::string kDataDir = std::string(FSSL_TEST_DATA_DIR) + "/noise/";

std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// capture_vllm_cuda_tokens.py's hashed logits: multiples of 1/128, exact in float32.
at::Tensor hashed_logits(std::uint64_t case_index, std::int64_t first_row, std::int64_t n_rows, std::int64_t vocab) {
  at::Tensor logits = at::empty({n_rows, vocab}, at::kFloat);
  float* out = logits.data_ptr<float>();
  for (std::int64_t r = 0; r < n_rows; ++r) {
    for (std::int64_t i = 0; i < vocab; ++i) {
      const std::uint64_t h = splitmix64(case_index << 48 | static_cast<std::uint64_t>(first_row + r) << 24 |
                                         static_cast<std::uint64_t>(i));
      std::int64_t k = static_cast<std::int64_t>(h & 1023);
      if (((h >> 10) & 63) == 0) k += 1536;
      if (((h >> 16) & 4095) == 0) k += 2048;
      out[r * vocab + i] = static_cast<float>(k) / 128.0f;
    }
  }
  return logits;
}

struct TokenCase {
  std::uint64_t index = 0, seed = 0;
  std::int64_t vocab = 0;
  SamplerParams params;
  std::vector<std::int64_t> tokens;
  std::vector<double> gaps;
};

std::vector<TokenCase> read_cases(const std::string& path, std::int64_t* sm, std::int64_t* max_threads) {
  std::vector<TokenCase> cases;
  for (const auto& f : test::read_records(path)) {
    if (f[0] == "device") {
      *sm = std::stoll(f[1]);
      *max_threads = std::stoll(f[2]);
    } else if (f[0] == "case") {
      TokenCase c;
      c.index = std::stoull(f[1]);
      c.seed = std::stoull(f[2]);
      c.vocab = std::stoll(f[3]);
      c.params.temperature = std::stof(f[5]);
      c.params.top_k = std::stoi(f[6]);
      c.params.top_p = std::stof(f[7]);
      c.params.min_p = std::stof(f[8]);
      cases.push_back(c);
    } else if (f[0] == "tok") {
      cases.back().tokens.push_back(std::stoll(f[2]));
      cases.back().gaps.push_back(std::stod(f[3]));
    }
  }
  return cases;
}

TEST(SamplerGolden, VllmCudaTokensMatchGpuSampler) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("vllm_cuda_tokens", 0) == 0 && entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  if (files.empty()) GTEST_SKIP() << "no GPU token capture in " << kDataDir;
  auto comm = comm_local();
  for (const std::string& path : files) {
    std::int64_t sm = 0, max_threads = 0, rows = 0, exact = 0, near_ties = 0;
    for (const TokenCase& c : read_cases(path, &sm, &max_threads)) {
      const auto profile = SamplerProfile::parse("vllm-cuda:sm_count=" + std::to_string(sm) +
                                                 ",max_threads_per_sm=" + std::to_string(max_threads));
      const auto n = static_cast<std::int64_t>(c.tokens.size());
      const at::Tensor logits = hashed_logits(c.index, 0, n, c.vocab);
      const at::Tensor noise = profile_noise_rows(profile, c.seed, 1, VocabShard::whole(c.vocab), 0, n).noise;
      const at::Tensor claimed = at::tensor(c.tokens, at::kLong);
      const ScoreBatch scores = score_gumbel_rows(logits, noise, claimed, c.params, VocabShard::whole(c.vocab),
                                                  ScoreConfig{}, *comm, ServerRule::kProbOverNoise);
      for (std::int64_t j = 0; j < n; ++j) {
        const bool is_exact = scores.exact[j].item<bool>();
        const float margin = scores.margin[j].item<float>();
        // The GPU's token always survives fssl's filters; where the GPU's two best probs / q are
        // further apart than float32 softmax rounding can move them, fssl picks the same token.
        EXPECT_TRUE(std::isfinite(margin)) << path << " case " << c.index << " row " << j << ": token filtered";
        if (c.gaps[j] > 1e-5) {
          EXPECT_TRUE(is_exact) << path << " case " << c.index << " row " << j << ": GPU token " << c.tokens[j]
                                << ", margin " << margin;
        } else {
          ++near_ties;
          EXPECT_LT(margin, 1e-3f) << path << " case " << c.index << " row " << j;
        }
        exact += is_exact;
        ++rows;
      }
    }
    std::printf("%s: %lld of %lld GPU-sampled tokens exact in fssl (%lld float32 near-ties)\n", path.c_str(),
                static_cast<long long>(exact), static_cast<long long>(rows), static_cast<long long>(near_ties));
    EXPECT_GT(rows, 50);
  }
}

// SGLang's torch sampler with a seed and top-k / top-p: every golden token is fssl's server choice
// (the same sort, cut and rank-keyed noise), with the same kept count and rank, and scoring calls
// it exact. Ties in probability (the flat family has many) are ordered by id on both sides.
TEST(SamplerGolden, SglangSortedTopKTopPTokensMatchSglangsAlgorithm) {
  auto comm = comm_local();
  int n = 0;
  for (const test::SglangSortedCase& c : test::sglang_sorted_cases()) {
    const SamplerProfile profile = SamplerProfile::parse(c.spec);
    const at::Tensor logits = test::sglang_case_logits(c);
    const std::string where = "case " + std::to_string(c.index) + " V " + std::to_string(c.vocab);
    ASSERT_EQ(hex_encode(sha256(std::string(reinterpret_cast<const char*>(logits.data_ptr<float>()),
                                            static_cast<std::size_t>(c.vocab) * sizeof(float)))),
              c.logits_sha256)
        << where << ": logits differ from the generator's";
    const SamplerParams params = profile_params(profile, c.settings);
    ASSERT_TRUE(params.sort_ranked) << where;
    const VocabShard whole = VocabShard::whole(c.vocab);
    const ProfileNoise noise = profile_noise_for_logits(profile, c.seed, c.position + 1, logits, params, whole, 0,
                                                        score_widest_margin(ScoreConfig{}), *comm);
    const at::Tensor token = sample_gumbel_rows(logits, noise.noise, params, whole, *comm, profile.server_rule(),
                                                noise.decision(params));
    EXPECT_EQ(token.item<std::int64_t>(), c.token) << where;
    const FilteredRows filtered = sampler_filter(logits, params, *comm);
    EXPECT_EQ((filtered.scaled != -std::numeric_limits<float>::infinity()).sum().item<std::int64_t>(), c.kept) << where;
    EXPECT_EQ(sampler_sort_ranks(sampler_sort_key(logits, params), params, 0.0, *comm)[0][c.token].item<std::int64_t>(), c.rank) << where;
    const ScoreBatch scores = score_gumbel_rows(logits, noise.noise, at::full({1}, c.token, at::kLong), params, whole,
                                                ScoreConfig{}, *comm, profile.server_rule(), noise.decision(params));
    EXPECT_TRUE(scores.exact[0].item<bool>()) << where;
    ++n;
  }
  EXPECT_EQ(n, 298);
}

}  // namespace
}  // namespace fssl
