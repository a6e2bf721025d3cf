// SGLang's sorted top-k / top-p (sampler.h, steps 3' and 4'), the branch of sampler_filter for
// SamplerParams::sort_ranked. Private to the sampler module.
#pragma once
#include <ATen/ATen.h>

#include "fssl/comm.h"
#include "fssl/sampler.h"

namespace fssl {

// s: [n, Vp] scaled logits of this rank's shard; returns s with the filtered columns -inf.
// Collective.
at::Tensor sorted_filter(const at::Tensor& s, const SamplerParams& params, Communicator& comm);

}  // namespace fssl
