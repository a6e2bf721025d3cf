// The sampler filter pipeline of Gumbel-max profiles, applied vocab-parallel to a message's logit
// rows: vLLM V1's order below, or transformers' (min-p applied last, after top-p: `min_p_last`).
// For each row with temperature T >= 1e-5 (greedy rows are not filtered):
//   1. s = l / T                                   float32, l the raw logits
//   2. min-p:  drop i with pi_i < min_p * max_j pi_j, pi = softmax(s)   <=>  s_i - max s < ln(min_p)
//   3. top-k:  keep s_i >= (k-th largest s); ties at the boundary are KEPT (more than k may survive);
//              k = 0 or k >= V is a no-op
//   4. top-p:  over the survivors, keep i iff the probability mass strictly above s_i is < p, so
//              the largest token is always kept; p = 1 is a no-op. (vLLM sorts ascending and drops
//              cumulative <= 1 - p: the same set up to float32 rounding; when several tokens tie
//              exactly at the top-p boundary fssl keeps all of them, vLLM's sort keeps some.)
//   5. pi = softmax over the survivors (float32).
// SGLang's seeded torch sampler (`sort_ranked`, sglang profiles with top-k or top-p) filters its own
// way instead of steps 3-4, on pi = softmax(s) over the whole row sorted descending (equal values:
// the smaller id first, the order of a stable sort), s taken from the logits as the server held
// them (`sort_bf16`: rounded to bfloat16 first, so that the server's exact ties are ties here too):
//   3'. top-k:  keep the first k ranks (exactly k: the tie at the boundary is cut by id)
//   4'. top-p:  keep rank r iff the mass of the ranks before it is <= p, that mass cumulated over the
//               whole distribution (not renormalised after top-k); rank 0 is always kept.
// Its noise is keyed by that rank, not by the token id (sampler_profile.h: profile_noise_for_logits).
// Under tensor parallelism each rank holds columns [vocab_begin, vocab_begin + Vp) (padding = -inf)
// and only scalars or short candidate lists cross ranks: the global max (min-p, softmax), each
// rank's k largest values (top-k), and for top-p each rank's largest survivors, doubling the list
// until no rank can hold an unseen token above the boundary (all of them only when the
// distribution is nearly flat and p is near 1). The sorted filter gathers whole rows: it needs every
// column's rank.
// Collective over the communicator: all ranks call with the same rows and parameters.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "fssl/comm.h"
#include "fssl/vocab_shard.h"

namespace fssl {

struct SamplerParams {
  float temperature = 1.0f;  // < 1e-5: greedy
  std::int32_t top_k = 0;    // 0 = disabled
  float top_p = 1.0f;        // (0, 1]; 1 = disabled
  float min_p = 0.0f;        // [0, 1]; 0 = disabled
  bool min_p_last = false;   // transformers' warper order: temperature, top-k, top-p, min-p
  bool sort_ranked = false;  // SGLang's sorted top-k / top-p, noise keyed by rank (3', 4' above)
  bool sort_bf16 = false;    // ... of logits the server held as bfloat16 (SGLang's bf16 lm_head)
  bool greedy() const { return temperature < 1e-5f; }
  // Whether any filter can drop a token (greedy rows filter nothing).
  bool filters() const { return !greedy() && (top_k > 0 || top_p < 1.0f || min_p > 0.0f); }
};

struct FilteredRows {
  at::Tensor scaled;    // [n, Vp] float32: s = l / T, -inf where filtered (or the raw logits if greedy)
  at::Tensor log_norm;  // [n] float32: m + ln Z, so that pi_i = exp(s_i - log_norm) over survivors
};

// logits: [n, Vp] float32, this rank's vocabulary shard (padding columns -inf).
FilteredRows sampler_filter(const at::Tensor& logits, const SamplerParams& params, Communicator& comm);

// The sorted filter's key: s = l / T from the logits as the server held them (bfloat16-rounded
// where params.sort_bf16). logits: [n, Vp]. Local.
at::Tensor sampler_sort_key(const at::Tensor& logits, const SamplerParams& params);
// The sort ranks of the sorted filter with `params`' top-k / top-p: [n, Vp] int64, each column's
// 0-based position in its row's global order (key descending, the smaller id first on ties), exact
// for the kept set and for every column whose logit lies within band_logits of the kept set's
// smallest (the widest margin the caller scores: further below, no threshold admits a column); the
// columns below share one rank, the count of those above. Collective.
at::Tensor sampler_sort_ranks(const at::Tensor& key, const SamplerParams& params, double band_logits,
                              Communicator& comm);

// How a Gumbel-max server turns noise into a token.
enum class ServerRule {
  kProbOverNoise,      // argmax pi / E: vLLM V1, torch.multinomial (hf-torch-cpu)
  kMaxPerturbedLogit,  // argmax RN32(l + RN32(T G)), ties to the smallest id: fssl-philox
  kScaledPlusGumbel,   // argmax RN32(s + G), s = RN32(l / T) the filtered scaled logit, ties to the smallest
                       // id: vLLM Model Runner V2 (Triton), SGLang's seeded sampler
};

// The token a Gumbel-max server emits for each row, in float32 exactly as the server computes it
// (the same code decides `exact` in scoring.h): filters as above, then argmax pi / E, argmax
// l + T G or argmax s + G by `rule`; greedy rows take argmax l. logits, noise: [n, Vp] shards (padding -inf in
// logits, any positive noise); gumbel as in score_gumbel_rows (may be undefined). Returns [n] int64
// global ids, the same on every rank. Collective.
at::Tensor sample_gumbel_rows(const at::Tensor& logits, const at::Tensor& noise, const SamplerParams& params,
                              const VocabShard& vocab, Communicator& comm, ServerRule rule,
                              const at::Tensor& gumbel = at::Tensor());

}  // namespace fssl
