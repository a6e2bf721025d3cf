// The Gumbel-max server's decision (fssl/gumbel_decision.h): filters, perturbed logits, and the emitted
// token in float32 exactly as the server computes it.
#include "fssl/gumbel_decision.h"

#include <limits>

namespace fssl {

std::pair<at::Tensor, at::Tensor> global_argmax(const at::Tensor& x, const at::Tensor& ids, Communicator& comm) {
  auto [values, index] = x.max(1);  // first maximum within the columns
  values = values.contiguous();
  index = ids.gather(1, index.unsqueeze(1)).squeeze(1).contiguous();
  comm.all_reduce_argmax(values, index);
  return {values, index};
}

GumbelDecision gumbel_decision(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                               const at::Tensor& ids, const SamplerParams& params, ServerRule rule,
                               Communicator& comm) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const bool greedy = params.greedy();
  GumbelDecision d;
  d.filtered = sampler_filter(logits, params, comm);
  d.kept = d.filtered.scaled != kNegInf;
  const at::Tensor dropped = d.kept.logical_not();
  // z = l + T G on the kept set, as RN32(l + RN32(T G)); greedy rows use the raw logits.
  d.g = gumbel.defined() ? gumbel : noise.log().neg();
  d.z = greedy ? logits.clone() : (logits + params.temperature * d.g).masked_fill(dropped, kNegInf);
  std::tie(d.z_max, d.winner) = global_argmax(d.z, ids, comm);
  // The server's rule in float32: argmax pi / E over the kept set (greedy: argmax l).
  d.pi = (d.filtered.scaled - d.filtered.log_norm.unsqueeze(1)).exp();
  d.ratio = greedy ? logits : (d.pi / noise).masked_fill(dropped, kNegInf);
  if (rule == ServerRule::kMaxPerturbedLogit && !greedy) {
    d.choice = d.winner;
  } else if (rule == ServerRule::kScaledPlusGumbel && !greedy) {
    // s + G with s = l / T already -inf outside the kept set.
    d.choice = global_argmax(d.filtered.scaled + d.g, ids, comm).second;
  } else {
    d.choice = global_argmax(d.ratio, ids, comm).second;
  }
  return d;
}

}  // namespace fssl
