// What a Gumbel-max server decides on one chunk of rows, shared by scoring (scoring/gumbel.cpp) and
// by the simulated server (sampler/sample.cpp) so that the token a simulated server emits and the
// token the verifier calls exact come from one piece of code.
#pragma once
#include <ATen/ATen.h>

#include <utility>

#include "fssl/comm.h"
#include "fssl/sampler.h"

namespace fssl {

// Global argmax (value, global id) of each row; ties go to the smallest global id. Columns map to
// global ids through `ids` [n, C] (ascending along each row, so the first maximum is the smallest id).
// Collective.
std::pair<at::Tensor, at::Tensor> global_argmax(const at::Tensor& x, const at::Tensor& ids, Communicator& comm);

struct GumbelDecision {
  FilteredRows filtered;  // sampler_filter's output
  at::Tensor kept;        // [n, C] bool
  at::Tensor g;           // [n, C] the Gumbel noise G = -ln E as the profile rounds it
  at::Tensor z;           // [n, C] l + T G on the kept set, -inf elsewhere (greedy: raw logits)
  at::Tensor z_max;       // [n] max z over the vocabulary
  at::Tensor winner;      // [n] int64 global id of argmax z (ties: smallest id)
  at::Tensor pi;          // [n, C] softmax over the kept set (0 outside)
  at::Tensor ratio;       // [n, C] pi / E on the kept set, -inf elsewhere (greedy: raw logits)
  at::Tensor choice;      // [n] int64 global id the server emits under `rule`
};

// logits, noise, gumbel (may be undefined: -ln noise), ids: [n, C] columns of this rank (or
// gathered candidates with a local communicator). Collective over `comm`.
GumbelDecision gumbel_decision(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                               const at::Tensor& ids, const SamplerParams& params, ServerRule rule,
                               Communicator& comm);

}  // namespace fssl
