// The coordinator's reproducible sampling plan (audit_plan.h).
#include "fssl/audit_plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_set>

#include "audit/population.h"
#include "fssl/error.h"
#include "../contrib/fssl_philox/fssl_philox.h"

namespace fssl {
namespace {

constexpr std::uint32_t kPlanDomain = 0x504C414Eu;  // "PLAN": never a noise block's tag

// 64-bit words of the plan's stream, one per call.
class PlanStream {
 public:
  // Stream 0 is the unstratified plan; stratum i draws from stream i + 1.
  PlanStream(std::uint64_t seed, std::uint32_t stream)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, stream_(stream) {}
  std::uint64_t next() {
    const auto block = fssl_philox::philox4x32_10(
        {static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32), stream_, kPlanDomain}, key_);
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
  std::uint32_t stream_ = 0;
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

std::vector<std::uint64_t> sample_indices(std::uint64_t population, const PlanOptions& o, PlanStream& stream) {
  return o.sample_size > 0 ? exact_sample(population, o.sample_size, stream)
                           : bernoulli_sample(population, o.fraction, stream);
}

// Each stratum on its own stream; a picked index walks the stratum's segments, and a segment
// that is not a whole shard has its rows read when the first pick lands in it.
AuditPlan filtered_plan(const Manifest& manifest, const PlanOptions& o, const std::string& archive_dir) {
  AuditPlan plan;
  const std::vector<Population> strata = plan_population(manifest, o, archive_dir);
  for (std::size_t i = 0; i < strata.size(); ++i) {
    const Population& p = strata[i];
    PlanStream stream(o.seed, static_cast<std::uint32_t>(i + 1));
    const std::vector<std::uint64_t> picked = sample_indices(p.size, o, stream);
    plan.population += p.size;
    plan.strata.push_back({p.key, p.size, picked.size()});
    std::size_t segment = 0;
    std::uint64_t begin = 0;
    std::vector<std::uint64_t> rows;  // of `segment`, once needed
    bool resolved = false;
    for (std::uint64_t index : picked) {
      while (index >= begin + p.segments[segment].count) {
        begin += p.segments[segment++].count;
        resolved = false;
      }
      const PopulationSegment& seg = p.segments[segment];
      if (!seg.whole && !resolved) {
        rows = segment_rows(archive_dir, manifest, seg);
        resolved = true;
      }
      plan.messages.push_back({seg.shard, seg.whole ? index - begin : rows[index - begin]});
    }
  }
  std::sort(plan.messages.begin(), plan.messages.end());
  return plan;
}

}  // namespace

Stratify parse_stratify(const std::string& name) {
  if (name == "none" || name.empty()) return Stratify::kNone;
  if (name == "model") return Stratify::kModel;
  if (name == "server") return Stratify::kServer;
  if (name == "window") return Stratify::kWindow;
  FSSL_THROW(ConfigError, "--stratify {}: none, model, server or window", name);
}

const char* stratify_name(Stratify s) {
  switch (s) {
    case Stratify::kNone: return "none";
    case Stratify::kModel: return "model";
    case Stratify::kServer: return "server";
    case Stratify::kWindow: return "window";
  }
  return "none";
}

AuditPlan audit_plan(const Manifest& manifest, const PlanOptions& o, const std::string& archive_dir) {
  FSSL_CHECK((o.sample_size > 0) != (o.fraction > 0.0), ConfigError,
             "audit plan: give exactly one of a sample size and a sampling fraction");
  FSSL_CHECK(o.fraction >= 0.0 && o.fraction <= 1.0, ConfigError, "audit plan: fraction {} is outside [0, 1]",
             o.fraction);
  FSSL_CHECK(!o.time_from_us || !o.time_to_us || *o.time_from_us < *o.time_to_us, ConfigError,
             "audit plan: the time range is empty (from >= to)");
  if (o.filtered()) return filtered_plan(manifest, o, archive_dir);
  AuditPlan plan;
  plan.population = manifest.n_messages();
  PlanStream stream(o.seed, 0);
  const std::vector<std::uint64_t> picked = sample_indices(plan.population, o, stream);
  plan.strata.push_back({"", plan.population, picked.size()});
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
