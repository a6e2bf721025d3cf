// Which sampler profile a serving engine's seeded sampler is (docs/sampler-spec.md §9, the table
// engine x version -> profile). Import maps a line's `engine` object through engine_profile; an
// explicit sampler.profile still wins. Pure string logic: no torch, not collective.
#pragma once

#include <optional>
#include <string>

#include "fssl/error.h"

namespace fssl {

// The engine a message came from, as its server logs it.
struct EngineIdentity {
  std::string name;                      // "vllm" | "sglang"
  std::string version;                   // "0.26.1" (a leading "v" and a local suffix "+cu130" are allowed)
  std::string model_runner;              // vllm: "v1" | "v2" | "" (the version's default for dense models)
  bool fp64_gumbel = false;              // vllm: --use-fp64-gumbel
  std::string gumbel_noise;              // vllm V2 from 0.29: "philox" | "murmur3" | "" (the version's default)
  std::optional<bool> fp_fusion;         // vllm Murmur3 noise: Triton fuses the series into fmas (default true)
  std::string logits_dtype;              // sglang: "bf16" | "fp32" | "" (fp32): the logits its sort saw
  std::optional<std::int64_t> sm_count;  // vllm V1 runner: the GPU's multiprocessor count (vllm-cuda)
  std::optional<std::int64_t> max_threads_per_sm;
  // vllm V2: whether its min_tokens mask is released one row late (before vllm#46243); default by
  // version (true before 0.24, false from 0.25; 0.24 must say when a message sets min_tokens).
  std::optional<bool> min_tokens_late;
};

class EngineError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

// The exact profile spec, e.g. "vllm-mrv2:noise=fp32-log1p". Throws EngineError naming the engine
// and version when fssl does not reproduce that sampler (a version outside every documented range,
// SGLang's pre-murmur hashes) or when the identity lacks what the profile needs (sm_count for the V1
// runner; gumbel_noise for vLLM 0.29, the release whose noise is not pinned).
// min_tokens_used: the message sets min_tokens (with stop ids), so V2's min_tokens release matters
// and is part of the profile (",min_tokens=late" where it is late).
std::string engine_profile(const EngineIdentity& engine, bool min_tokens_used = false);

}  // namespace fssl
