// Engine identity -> sampler profile (fssl/engine_profile.h). The version ranges come from the
// engines' repositories (docs/sampler-spec.md §9 names the pull requests and how each boundary was
// found); a version outside them is refused rather than guessed: replaying with the wrong noise would
// call every honest message suspicious.
#include "fssl/engine_profile.h"

#include <array>
#include <cstdio>

namespace fssl {
namespace {

using Version = std::array<int, 3>;

Version parse_version(const EngineIdentity& e) {
  std::string v = e.version;
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.erase(0, 1);
  Version out{0, 0, 0};
  int consumed = 0;
  const int n = std::sscanf(v.c_str(), "%d.%d%n", &out[0], &out[1], &consumed);
  FSSL_CHECK(n == 2 && out[0] >= 0 && out[1] >= 0, EngineError, "engine {} version '{}' is not MAJOR.MINOR[.PATCH]",
             e.name, e.version);
  if (v[static_cast<std::size_t>(consumed)] == '.') {
    int patch = 0;
    FSSL_CHECK(std::sscanf(v.c_str() + consumed + 1, "%d", &patch) == 1 && patch >= 0, EngineError,
               "engine {} version '{}' is not MAJOR.MINOR[.PATCH]", e.name, e.version);
    out[2] = patch;
  }
  return out;
}

bool before(const Version& v, int major, int minor, int patch = 0) { return v < Version{major, minor, patch}; }

// Model Runner V2 masked min_tokens' stop ids one row too long until vllm#46243 (opened 2026-06-20,
// merged around 0.24.0 of 2026-07-01: which of the two releases first carries it is not pinned).
std::string min_tokens_key(const EngineIdentity& e, const Version& v, bool used) {
  if (!used) return "";
  bool late = false;
  if (e.min_tokens_late) {
    late = *e.min_tokens_late;
  } else {
    FSSL_CHECK(before(v, 0, 24) || !before(v, 0, 25), EngineError,
               "engine vllm {} (Model Runner V2) with min_tokens: whether 0.24 releases min_tokens' stop ids one "
               "token late (before vllm#46243) is not pinned; add \"min_tokens_late\": true or false to the engine "
               "object (false if vllm/v1/worker/gpu/sample/logit_bias.py of the server tests pos + 1 < min_len)",
               e.version);
    late = before(v, 0, 24);
  }
  return late ? ",min_tokens=late" : "";
}

std::string vllm_profile(const EngineIdentity& e, const Version& v, bool min_tokens_used) {
  std::string runner = e.model_runner;
  if (runner.empty()) runner = before(v, 0, 25) ? "v1" : "v2";  // vllm#44443: V2 default for dense models from 0.25
  FSSL_CHECK(e.logits_dtype.empty(), EngineError,
             "engine vllm {}: logits_dtype is an SGLang field (vLLM samples float32 copies of its logits)", e.version);
  FSSL_CHECK(runner == "v1" || runner == "v2", EngineError, "engine vllm {}: model_runner '{}' is not v1 or v2",
             e.version, runner);
  if (runner == "v1") {
    FSSL_CHECK(e.gumbel_noise.empty() && !e.fp_fusion && !e.fp64_gumbel && !e.min_tokens_late, EngineError,
               "engine vllm {} (V1 runner): gumbel_noise, fp_fusion, fp64_gumbel and min_tokens_late are Model Runner "
               "V2 fields",
               e.version);
    FSSL_CHECK(e.sm_count && *e.sm_count > 0, EngineError,
               "engine vllm {} (V1 runner): vllm-cuda needs the GPU's sm_count in the engine object", e.version);
    std::string spec = "vllm-cuda:sm_count=" + std::to_string(*e.sm_count);
    if (e.max_threads_per_sm) spec += ",max_threads_per_sm=" + std::to_string(*e.max_threads_per_sm);
    return spec;
  }
  FSSL_CHECK(!before(v, 0, 11), EngineError, "engine vllm {}: no Model Runner V2 before 0.11", e.version);
  FSSL_CHECK(e.gumbel_noise.empty() || e.gumbel_noise == "philox" || e.gumbel_noise == "murmur3", EngineError,
             "engine vllm {}: gumbel_noise '{}' is not philox or murmur3", e.version, e.gumbel_noise);
  // vllm#51367 replaced Triton's Philox by Murmur3 after 0.28.0; which release first ships it is not
  // pinned (spec §9), so 0.29 must say which noise its gumbel.py draws, and later releases default to
  // Murmur3.
  std::string rng = e.gumbel_noise;
  if (rng.empty()) {
    FSSL_CHECK(before(v, 0, 29) || !before(v, 0, 30), EngineError,
               "engine vllm {} (Model Runner V2): 0.29 may draw its Gumbel noise from Philox or from Murmur3 "
               "(vllm#51367); add \"gumbel_noise\": \"philox\" or \"murmur3\" to the engine object (murmur3 if "
               "vllm/v1/worker/gpu/sample/gumbel.py of the server defines murmur3_hash32)",
               e.version);
    rng = before(v, 0, 29) ? "philox" : "murmur3";
  }
  FSSL_CHECK(rng == "philox" || !before(v, 0, 29), EngineError,
             "engine vllm {}: Murmur3 Gumbel noise (vllm#51367) does not exist before 0.29", e.version);
  const char* noise = nullptr;
  if (rng == "murmur3") {
    noise = e.fp64_gumbel ? "murmur3-fp64" : (e.fp_fusion.value_or(true) ? "murmur3" : "murmur3-unfused");
  } else if (before(v, 0, 17)) {
    noise = "fp64-eps20";  // early V2
  } else if (before(v, 0, 19)) {
    noise = "fp32-log-1e-7";  // vllm#34854
  } else if (before(v, 0, 21)) {
    noise = "fp64";  // vllm#37798: float64 always
  } else if (e.fp64_gumbel) {
    noise = "fp64";  // vllm#41775: --use-fp64-gumbel
  } else if (before(v, 0, 24)) {
    noise = "fp32-log-tiny";  // vllm#41775
  } else {
    noise = "fp32-log1p";  // vllm#45996
  }
  FSSL_CHECK(!e.fp64_gumbel || !before(v, 0, 21) || std::string(noise) == "fp64", EngineError,
             "engine vllm {}: fp64_gumbel does not exist before 0.21", e.version);
  return std::string("vllm-mrv2:noise=") + noise + min_tokens_key(e, v, min_tokens_used);
}

std::string sglang_profile(const EngineIdentity& e, const Version& v) {
  FSSL_CHECK(!before(v, 0, 5, 9), EngineError,
             "engine sglang {}: seeded sampling before 0.5.9 used multiplicative hashes fssl does not reproduce",
             e.version);
  FSSL_CHECK(e.model_runner.empty() && !e.fp64_gumbel && !e.sm_count && !e.max_threads_per_sm &&
                 e.gumbel_noise.empty() && !e.fp_fusion && !e.min_tokens_late,
             EngineError,
             "engine sglang {}: model_runner, fp64_gumbel, gumbel_noise, fp_fusion, min_tokens_late, sm_count and "
             "max_threads_per_sm are vLLM fields",
             e.version);
  FSSL_CHECK(e.logits_dtype.empty() || e.logits_dtype == "bf16" || e.logits_dtype == "fp32", EngineError,
             "engine sglang {}: logits_dtype '{}' is not bf16 or fp32", e.version, e.logits_dtype);
  // The dtype of the logits its top-k / top-p sort sees: bf16 where the lm_head runs in bf16 (the
  // default for bf16 models), fp32 with --enable-fp32-lm-head or an fp32 model (spec §8).
  return e.logits_dtype == "bf16" ? "sglang:noise=murmur3,logits=bf16" : "sglang:noise=murmur3";
}

}  // namespace

std::string engine_profile(const EngineIdentity& e, bool min_tokens_used) {
  const Version v = parse_version(e);
  if (e.name == "vllm") return vllm_profile(e, v, min_tokens_used);
  if (e.name == "sglang") return sglang_profile(e, v);
  FSSL_THROW(EngineError, "engine '{}' is unknown (vllm, sglang; other engines: log sampler.profile)", e.name);
}

}  // namespace fssl
