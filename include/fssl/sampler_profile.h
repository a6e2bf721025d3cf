// Sampler profiles as logged in the archive: a spec string "name[:key=value,...]" naming whose
// randomness the verifier reproduces (grammar and parameters: docs/sampler-spec.md §1).
// A spec that does not parse is a property of the message (unverifiable), not an fssl error:
// parse() throws ProfileError, which callers turn into an unverifiable-message reason.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/error.h"
#include "fssl/noise.h"
#include "fssl/sampler.h"
#include "fssl/vocab_shard.h"

namespace fssl {

class ProfileError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

struct SamplerProfile {
  enum class Kind { kFsslPhilox, kVllmCuda, kHfTorchCpu, kLlamacppDist, kVllmMrv2, kSglang };
  Kind kind = Kind::kFsslPhilox;
  std::string spec;                          // as logged
  std::int64_t version = 1;                  // fssl-philox: v
  std::int64_t sm_count = 0;                 // vllm-cuda (required)
  std::int64_t max_threads_per_sm = 2048;    // vllm-cuda
  std::int64_t batch_size = 1, batch_row = 0;  // hf-torch-cpu
  std::int64_t single_draw = 0, backend = 0;   // llamacpp-dist
  VllmMrv2Noise mrv2_noise = VllmMrv2Noise::kFp32Log1p;  // vllm-mrv2: noise= (required)
  SglangNoise sglang_noise = SglangNoise::kMurmur3;      // sglang: noise= (required)
  bool logits_bf16 = false;                              // sglang: logits=bf16 (default fp32)
  bool min_tokens_late = false;  // vllm-mrv2: min_tokens=late, stop ids masked one row longer (before vllm#46243)

  // Gumbel-max samplers (scored with the margin / GM-LS); llamacpp-dist is inverse-CDF (IPT-LS).
  bool gumbel_max() const { return kind != Kind::kLlamacppDist; }
  // fssl-philox fixes how G is rounded and decides by the largest z; the Triton and SGLang
  // samplers add G to the scaled logits; the others decide by pi / E.
  ServerRule server_rule() const {
    if (kind == Kind::kFsslPhilox) return ServerRule::kMaxPerturbedLogit;
    if (kind == Kind::kVllmMrv2 || kind == Kind::kSglang) return ServerRule::kScaledPlusGumbel;
    return ServerRule::kProbOverNoise;
  }
  // Counter-based noise keyed by the token's position in the sequence (not by the output index).
  bool positional() const { return kind == Kind::kVllmMrv2 || kind == Kind::kSglang; }
  // Throws ProfileError naming the spec and the offending part.
  static SamplerProfile parse(const std::string& spec);
};

// A message's noise rows as a Gumbel-max server drew them, on the columns of `vocab` (the
// vocab.valid real columns of a logits row of width vocab.full, padded to vocab.size columns).
struct ProfileNoise {
  at::Tensor noise;   // [n, vocab.size] float32 Exp(1) noise E > 0 (padding 1.0)
  at::Tensor gumbel;  // [n, vocab.size] float32 G as the server rounds it, or undefined where the
                      // server decides by pi / E (then G = -ln E in float32)
  // The `gumbel` argument of score_gumbel_rows / sample_gumbel_rows: greedy rows decide by l alone.
  at::Tensor decision(const SamplerParams& params) const { return params.greedy() ? at::Tensor() : gumbel; }
};

// Rows [first_row, first_row + n_rows) of a message (row j = the j-th emitted token, 0-based) with
// seed `seed` and a prompt of prompt_len tokens (positional profiles key row j by position
// prompt_len + j - 1). fssl-philox: E and its exactly rounded G (spec §2); vllm-cuda, hf-torch-cpu:
// E; vllm-mrv2, sglang: the engine's G and E = exp(-G). Gumbel-max profiles only (else ProfileError).
ProfileNoise profile_noise_rows(const SamplerProfile& profile, std::uint64_t seed, std::int64_t prompt_len,
                                const VocabShard& vocab, std::int64_t first_row, std::int64_t n_rows);

// The noise rows of a message's logit rows [n, Vp] (this rank's shard) as its server drew them:
// profile_noise_rows, except where the server keys noise by sort rank (params.sort_ranked: SGLang's
// top-k / top-p path), where column i gets the noise of its rank by sampler_sort_key (sampler.h),
// exact for the kept set and within band_logits below it (sampler_sort_ranks; the widest margin
// threshold the caller scores, 0 for a server that only samples). Collective over `comm` when ranked.
ProfileNoise profile_noise_for_logits(const SamplerProfile& profile, std::uint64_t seed, std::int64_t prompt_len,
                                      const at::Tensor& logits, const SamplerParams& params, const VocabShard& vocab,
                                      std::int64_t first_row, double band_logits, Communicator& comm);

// Row-wise concatenation (all parts of one profile).
ProfileNoise profile_noise_cat(const std::vector<ProfileNoise>& parts);

// G = -ln E rounded as fssl-philox specifies (correctly rounded float32, spec §2); [n, cols]
// float32 from its E rows.
at::Tensor fssl_philox_gumbel_rows(const at::Tensor& noise);

// Why a message with these settings cannot be replayed under `profile` ("" when it can): the
// engine refuses them (sglang: min_p with a seed).
std::string profile_settings_problem(const SamplerProfile& profile, const SamplerSettings& settings);

// The filter parameters of logged settings as `profile` applies them (transformers' warper order
// for hf-torch-cpu; SGLang's sorted top-k / top-p, keyed by rank, for sglang messages that set
// either; SGLang's "all" top-k, 2^30 and above, is no filter).
SamplerParams profile_params(const SamplerProfile& profile, const SamplerSettings& settings);

}  // namespace fssl
