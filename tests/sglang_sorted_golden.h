// The cases of tests/data/noise/sglang_sorted_golden.txt (gen_sglang_sorted_golden.py: SGLang's
// seeded top-k / top-p sampler in PyTorch) and the logits formula both sides compute, for the unit
// test (sampler_golden_test) and the tensor-parallel one (scoring_mpi_test).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fssl/sampler_profile.h"
#include "golden_file.h"

namespace fssl::test {

struct SglangSortedCase {
  int family = 0;
  std::uint64_t index = 0, seed = 0;
  std::int64_t vocab = 0, position = 0, kept = 0, token = 0, rank = 0;
  SamplerSettings settings;
  std::string spec, logits_sha256;
};

inline std::vector<SglangSortedCase> sglang_sorted_cases() {
  std::vector<SglangSortedCase> cases;
  for (const auto& f : read_records(std::string(FSSL_TEST_DATA_DIR) + "/noise/sglang_sorted_golden.txt")) {
    SglangSortedCase c;
    c.family = std::stoi(f[0]);
    c.index = std::stoull(f[1]);
    c.vocab = std::stoll(f[2]);
    c.settings.temperature = std::stof(f[3]);
    c.settings.top_k = std::stoi(f[4]);
    c.settings.top_p = std::stof(f[5]);
    c.seed = hex_u64(f[6]);
    c.position = std::stoll(f[7]);
    c.spec = std::string(f[8] == "0" ? "sglang:noise=murmur3" : "sglang:noise=murmur3-capped") +
             (f[13] == "bf16" ? ",logits=bf16" : "");
    c.logits_sha256 = f[9];
    c.kept = std::stoll(f[10]);
    c.token = std::stoll(f[11]);
    c.rank = std::stoll(f[12]);
    cases.push_back(c);
  }
  return cases;
}

// The generator's logits [1, V]: k = (i * 2654435761 + 97 c) mod 2^32, l = float32(k mod M) * step
// + base, each operation rounded on its own (two tensor ops, as numpy does them).
inline at::Tensor sglang_case_logits(const SglangSortedCase& c) {
  const std::int64_t modulus = c.family == 0 ? 2000 : 997;
  const float step = c.family == 0 ? 0.005f : 0.02f, base = c.family == 0 ? -5.0f : -10.0f;
  at::Tensor k = at::empty({c.vocab}, at::kFloat);
  float* out = k.data_ptr<float>();
  for (std::int64_t i = 0; i < c.vocab; ++i) {
    const std::uint64_t h = (static_cast<std::uint64_t>(i) * 2654435761ull + 97ull * c.index) & 0xffffffffull;
    out[i] = static_cast<float>(h % static_cast<std::uint64_t>(modulus));
  }
  return k.mul(step).add(base).unsqueeze(0).contiguous();
}

}  // namespace fssl::test
