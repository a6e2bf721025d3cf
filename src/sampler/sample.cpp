// The simulated server's sampler (sampler.h sample_gumbel_rows): the dense columns of this rank's
// shard through the same decision the verifier scores with (fssl/gumbel_decision.h).
#include <ATen/ATen.h>

#include "fssl/sampler.h"
#include "fssl/gumbel_decision.h"

namespace fssl {

at::Tensor sample_gumbel_rows(const at::Tensor& logits, const at::Tensor& noise, const SamplerParams& params,
                              const VocabShard& vocab, Communicator& comm, ServerRule rule, const at::Tensor& gumbel) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  const at::Tensor ids = (at::arange(vp, at::kLong) + vocab.begin).expand({n, vp});
  return gumbel_decision(logits, noise, gumbel, ids, params, rule, comm).choice;
}

}  // namespace fssl
