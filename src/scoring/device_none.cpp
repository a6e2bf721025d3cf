// fssl/scoring_device.h in builds without CUDA: the GPU scorer does not exist here.
#include "fssl/error.h"
#include "fssl/scoring_device.h"

namespace fssl {

bool fused_device_scoring_built() { return false; }

ScoreBatch score_gumbel_rows_device(const at::Tensor&, const at::Tensor&, const SamplerProfile&, std::uint64_t,
                                    std::int64_t, std::int64_t, const SamplerParams&, const ScoreConfig&) {
  FSSL_THROW(ConfigError, "this fssl was built without CUDA (FSSL_WITH_CUDA): GPU scoring is unavailable");
}

}  // namespace fssl
