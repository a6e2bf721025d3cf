// The coordinator's reproducible sampling plan (audit_plan.h).
#include "fssl/audit_plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "fssl/error.h"
#include "../contrib/fssl_philox/fssl_philox.h"

namespace fssl {
namespace {

constexpr std::uint32_t kPlanDomain = 0x504C414Eu;  // "PLAN": never a noise block's tag

// 64-bit words of the plan's stream, one per call.
class PlanStream {
 public:
  explicit PlanStream(std::uint64_t seed) : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)} {}
  std::uint64_t next() {
    const auto block = fssl_philox::philox4x32_10(
        {static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32), 0u, kPlanDomain}, key_);
    ++counter_;
    return (static_cast<std::uint64_t>(block[1]) << 32) | block[0];
  }
  // Uniform in [0, bound] (Lemire: multiply, reject the biased low products).
  std::uint64_t below_or_equal(std::uint64_t bound) {
    if (bound == ~std::uint64_t{0}) return next();
    const std::uint64_t range = bound + 1;
    const std::uint64_t threshold = (0 - range) % range;  // 2^64 mod range
    for (;;) {
      const unsigned __int128 product = static_cast<unsigned __int128>(next()) * range;
      if (static_cast<std::uint64_t>(product) >= threshold) return static_cast<std::uint64_t>(product >> 64);
    }
  }
  // Uniform in (0, 1): 53 bits, never 0.
  double open_unit() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1p-53; }

 private:
  std::array<std::uint32_t, 2> key_;
  std::uint64_t counter_ = 0;
};

std::vector<std::uint64_t> exact_sample(std::uint64_t population, std::uint64_t n, PlanStream& stream) {
  std::vector<std::uint64_t> out;
  if (n >= population) {
    out.resize(population);
    for (std::uint64_t i = 0; i < population; ++i) out[i] = i;
    return out;
  }
  // Floyd: for j = N - n .. N - 1, take t uniform in [0, j]; if taken already, take j instead.
  std::unordered_set<std::uint64_t> taken;
  taken.reserve(static_cast<std::size_t>(n) * 2);
  for (std::uint64_t j = population - n; j < population; ++j) {
    const std::uint64_t t = stream.below_or_equal(j);
    taken.insert(taken.count(t) ? j : t);
  }
  out.assign(taken.begin(), taken.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint64_t> bernoulli_sample(std::uint64_t population, double fraction, PlanStream& stream) {
  std::vector<std::uint64_t> out;
  if (fraction <= 0.0) return out;
  if (fraction >= 1.0) return exact_sample(population, population, stream);
  const double log_keep = std::log1p(-fraction);
  // The gap before the next pick is geometric: P(gap = g) = (1 - f)^g f.
  for (std::uint64_t i = 0;;) {
    const double gap = std::floor(std::log(stream.open_unit()) / log_keep);
    if (gap >= static_cast<double>(population - i)) break;
    i += static_cast<std::uint64_t>(gap);
    out.push_back(i++);
    if (i >= population) break;
  }
  return out;
}

}  // namespace

AuditPlan audit_plan(const Manifest& manifest, const PlanOptions& o) {
  FSSL_CHECK((o.sample_size > 0) != (o.fraction > 0.0), ConfigError,
             "audit plan: give exactly one of a sample size and a sampling fraction");
  FSSL_CHECK(o.fraction >= 0.0 && o.fraction <= 1.0, ConfigError, "audit plan: fraction {} is outside [0, 1]",
             o.fraction);
  AuditPlan plan;
  plan.population = manifest.n_messages();
  PlanStream stream(o.seed);
  const std::vector<std::uint64_t> picked = o.sample_size > 0 ? exact_sample(plan.population, o.sample_size, stream)
                                                              : bernoulli_sample(plan.population, o.fraction, stream);
  // Global index -> (shard, row), walking the shards once (picked is ascending).
  plan.messages.reserve(picked.size());
  std::uint32_t shard = 0;
  std::uint64_t shard_begin = 0;
  for (std::uint64_t index : picked) {
    while (index >= shard_begin + manifest.shards[shard].n_messages) shard_begin += manifest.shards[shard++].n_messages;
    plan.messages.push_back({shard, index - shard_begin});
  }
  return plan;
}

}  // namespace fssl
