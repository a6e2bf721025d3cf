// Sampler profiles as logged in the archive: a spec string "name[:key=value,...]" naming whose
// randomness the verifier reproduces (grammar and parameters: docs/sampler-spec.md §1).
// A spec that does not parse is a property of the message (unverifiable), not an fssl error:
// parse() throws ProfileError, which callers turn into an unverifiable-message reason.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "fssl/archive.h"
#include "fssl/error.h"
#include "fssl/sampler.h"
#include "fssl/vocab_shard.h"

namespace fssl {

class ProfileError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

struct SamplerProfile {
  enum class Kind { kFsslPhilox, kVllmCuda, kHfTorchCpu, kLlamacppDist };
  Kind kind = Kind::kFsslPhilox;
  std::string spec;                          // as logged
  std::int64_t version = 1;                  // fssl-philox: v
  std::int64_t sm_count = 0;                 // vllm-cuda (required)
  std::int64_t max_threads_per_sm = 2048;    // vllm-cuda
  std::int64_t batch_size = 1, batch_row = 0;  // hf-torch-cpu
  std::int64_t single_draw = 0, backend = 0;   // llamacpp-dist

  // Gumbel-max samplers (scored with the margin / GM-LS); llamacpp-dist is inverse-CDF (IPT-LS).
  bool gumbel_max() const { return kind != Kind::kLlamacppDist; }
  // fssl-philox fixes how G is rounded and decides by the largest z; the others by pi / E.
  ServerRule server_rule() const {
    return kind == Kind::kFsslPhilox ? ServerRule::kMaxPerturbedLogit : ServerRule::kProbOverNoise;
  }
  // Throws ProfileError naming the spec and the offending part.
  static SamplerProfile parse(const std::string& spec);
};

// Exp(1) noise of rows [first_row, first_row + n_rows) of a message on the columns of `vocab`:
// the vocab.valid real columns of a logits row of width vocab.full, padded with 1.0 to vocab.size
// columns: [n_rows, vocab.size] float32 on CPU. Gumbel-max profiles only.
at::Tensor profile_noise_rows(const SamplerProfile& profile, std::uint64_t seed, const VocabShard& vocab,
                              std::int64_t first_row, std::int64_t n_rows);

// G = -ln E rounded as the profile specifies (fssl-philox: correctly rounded float32, spec §2);
// [n, cols] float32 from profile_noise_rows' output.
at::Tensor profile_gumbel_rows(const SamplerProfile& profile, const at::Tensor& noise);

// The `gumbel` argument of score_gumbel_rows / sample_gumbel_rows for this profile: fssl-philox's
// exactly rounded G (profile_gumbel_rows), undefined for the others and for greedy rows, whose
// decision reads E (or nothing) directly.
at::Tensor profile_decision_gumbel(const SamplerProfile& profile, const at::Tensor& noise, const SamplerParams& params);

// The filter parameters of logged settings as `profile` applies them (transformers' warper order
// for hf-torch-cpu).
SamplerParams profile_params(const SamplerProfile& profile, const SamplerSettings& settings);

}  // namespace fssl
