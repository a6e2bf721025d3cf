// SGLang's sorted top-k / top-p (sampler.h, steps 3' and 4'), the branch of sampler_filter for
// SamplerParams::sort_ranked. Private to the sampler module.
#pragma once
#include <ATen/ATen.h>

#include "fssl/comm.h"
#include "fssl/sampler.h"

namespace fssl {

// s: [n, Vp] scaled logits of this rank's shard, key: sampler_sort_key of its logits; returns s
// with the filtered columns -inf. Collective.
at::Tensor sorted_filter(const at::Tensor& s, const at::Tensor& key, const SamplerParams& params, Communicator& comm);

}  // namespace fssl
