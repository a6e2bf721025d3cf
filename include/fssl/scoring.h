// FSSL scores of every output token of Gumbel-max profiles (verification-math.md §4-§6),
// computed on a tensor-parallel group's vocabulary shards with scalar reductions only.
//
// Per output row with claimed token y, raw logits l, Exp(1) noise E (G = -ln E) and the kept set
// K of sampler_filter (sampler.h):
//   z_i = l_i + T * G_i (i in K), -inf otherwise;   c = argmax z (ties: smallest id)
//   margin      Delta_y, boundary-aware (docs/scoring.md, src/margin_model.h): with
//               l_b = min_K l, l_d = the largest filtered logit and z'_y = l_y + T G_y,
//               Delta_y = max(e_y, max_{j in K, z_j > z'_y} min(z_j - z'_y, l_j - l_d)),
//               e_y = 0 in K, l_b - l_y outside. Without filtering: z_c - z_y (RR, Token-DiFR);
//               finite for every real token (RR's +inf for filtered y is the special case
//               l_b - l_y = +inf)
//   gmls[s]     ln Phi(-Delta / (sqrt(2) sigma_s)) for each configured sigma   (GM-LS, <= ln 1/2)
//   exact       the server's own choice == y, in float32: argmax_i pi_i / E_i (vLLM, torch
//               multinomial) or argmax_i z_i (fssl-philox), per ServerRule
//   prob        pi_y after the filters
//   logit_rank  #{i : l_i > l_y}                     (raw logits, 0 = top)
//   gumbel_rank #{i : pi_i / E_i > pi_y / E_y}; -1 when y is filtered (infinite rank)
//   admissible  |A(delta_j)| = #{i : Delta_i <= delta_j} for the margin grid (filtered tokens
//               included: a token the tier would call safe is always counted)
//   tier        safe (Delta <= margin_threshold), suspicious (rank <= rank_cutoff), dangerous
//   bits        log2 |A(margin_threshold)|, log2(rank_cutoff + 1) (conservative, §6), log2 V
// Greedy rows (T < 1e-5) draw no noise: z = l, c = argmax l, exact = (c == y), and the rest as
// above with pi the unfiltered softmax of l.
// Every field is a per-token quantity that later statistics add up across ranks and messages.
// Collective over the communicator: all ranks call with the same rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "fssl/comm.h"
#include "fssl/sampler.h"
#include "fssl/scoring_types.h"
#include "fssl/vocab_shard.h"

namespace fssl {

// Scores of n output rows; all tensors on CPU.
struct ScoreBatch {
  at::Tensor exact;        // [n] bool
  at::Tensor margin;       // [n] float32, boundary-aware Delta_y (finite for real tokens)
  at::Tensor gmls;         // [n, n_sigmas] float32
  at::Tensor prob;         // [n] float32
  at::Tensor logit_rank;   // [n] int64
  at::Tensor gumbel_rank;  // [n] int64, -1 = infinite (y filtered)
  at::Tensor admissible;   // [n, n_grid] int64
  at::Tensor tier;         // [n] uint8 (TokenTier)
  at::Tensor bits;         // [n] float64
};

// logits, noise: [n, Vp] float32 shards (the columns of `vocab`; padding -inf in logits, any
// positive value in noise); claimed: [n] int64 global ids < vocab.full. `gumbel`, when
// defined, is G = -ln E exactly as the profile rounds it ([n, Vp]); otherwise -ln E in float32.
ScoreBatch score_gumbel_rows(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                             const SamplerParams& params, const VocabShard& vocab, const ScoreConfig& config,
                             Communicator& comm, ServerRule rule = ServerRule::kProbOverNoise,
                             const at::Tensor& gumbel = at::Tensor());

// #{i : l_i > l_y} over the whole vocabulary for each row's claimed token y: the owner's logit is
// shared, then every shard counts. logits [n, Vp] shard, claimed [n]. Collective.
at::Tensor raw_logit_rank(const at::Tensor& logits, const at::Tensor& claimed, const VocabShard& vocab,
                          Communicator& comm);

// Row-wise concatenation of score batches (in order).
ScoreBatch score_batch_cat(const std::vector<ScoreBatch>& parts);

// dst's row i <- src's row j, every field (same configuration).
void score_batch_set_row(ScoreBatch& dst, std::int64_t i, const ScoreBatch& src, std::int64_t j);

// ln Phi(x) for the standard normal CDF, accurate in the far left tail (no underflow to -inf
// before x ~ -1e154).
double log_ndtr(double x);

}  // namespace fssl
