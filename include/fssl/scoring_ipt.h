// IPT-LS scores of inverse-CDF profiles (llamacpp-dist; verification-math.md §5, §11.3).
//
// Per output row, llama.cpp's dist chain as fssl replays it: candidates = the vocabulary in id
// order; top-k (k > 0): sort by logit descending (ties: smaller id first), keep k; top-p (p < 1):
// sort descending if not yet sorted, keep the shortest prefix whose probability reaches p; min-p:
// keep l_i >= max l + ln(min_p) (order kept); temperature: l / T (T < 1e-5: greedy, keep the max).
// dist: one uniform u from the message's stream when more than one candidate is left (or always
// with single_draw), pi = softmax over the candidates in their current order, and the token whose
// cumulative interval [F_{t-1}, F_t) holds u (first running sum >= u * total).
// Scores per row (y = claimed token):
//   exact      the replayed choice == y
//   distance   how far u lies outside y's interval (0 inside; +inf if y is not a candidate)
//   iptls[s]   ln(Phi((b_y - u) / sigma_s) - Phi((a_y - u) / sigma_s) + 1e-12) (-inf if y filtered)
//   prob       pi_y;  logit_rank  #{i : l_i > l_y} over the raw logits
//   admissible #{candidates whose interval lies within distance delta_j of u}
//   tier/bits  safe (distance <= threshold): log2 |A|; suspicious (rank <= R): log2(R + 1);
//              dangerous: log2 V
// Under tensor parallelism the candidate list is gathered (after top-k it is k long per rank;
// without top-k it is the vocabulary, the one case where fssl gathers it).
// Collective over the communicator.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "fssl/comm.h"
#include "fssl/sampler.h"
#include "fssl/scoring_types.h"
#include "fssl/vocab_shard.h"

namespace fssl {

struct IptScoreBatch {
  at::Tensor exact;       // [n] bool
  at::Tensor drew;        // [n] bool: this row consumed a uniform
  at::Tensor distance;    // [n] float64
  at::Tensor iptls;       // [n, n_sigmas] float32
  at::Tensor prob;        // [n] float32
  at::Tensor logit_rank;  // [n] int64
  at::Tensor admissible;  // [n, n_grid] int64
  at::Tensor tier;        // [n] uint8 (TokenTier values)
  at::Tensor bits;        // [n] float64
};

// logits [n, Vp] float32 shard (padding -inf), claimed [n] int64; `next_uniform` yields the
// message's uniforms in order (LlamacppUniformStream::next for llamacpp-dist).
IptScoreBatch score_ipt_rows(const at::Tensor& logits, const at::Tensor& claimed, const SamplerParams& params,
                             const VocabShard& vocab, bool single_draw, const std::function<double()>& next_uniform,
                             const IptConfig& config, Communicator& comm);

// The token llama.cpp's dist sampler emits for one row [Vp] (the chain and draw above; the same
// code the scorer calls exact), consuming a uniform from `next_uniform` when it draws. Collective.
std::int64_t sample_ipt_row(const at::Tensor& row, const SamplerParams& params, const VocabShard& vocab,
                            bool single_draw, const std::function<double()>& next_uniform, Communicator& comm);

// Row-wise concatenation of IPT score batches (in order).
IptScoreBatch ipt_batch_cat(const std::vector<IptScoreBatch>& parts);

}  // namespace fssl
