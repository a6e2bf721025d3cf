// The audit coordinator's sampling plan: which messages an audit replays. A pure function of
// (manifest, audit seed, options), so the same inputs give the same sample on any cluster, any
// rank count and any run (resumes included). Costs O(n log n) time and O(n) memory for a sample of
// n, independent of the archive's size (a 10^9-message archive plans in milliseconds).
//
// Randomness: Philox4x32-10 keyed by the audit seed, counter (draw index, domain "PLAN"), so the
// plan never shares a stream with sampler noise drawn from the same seed.
//   exact n      Floyd's algorithm over the global message index (shards in manifest order, rows
//                within a shard): a uniform n-subset without replacement; integers in [0, j] by
//                Lemire's multiply-and-reject on 64-bit words (no modulo bias).
//   fraction f   every message independently with probability f, by geometric skips
//                floor(ln U / ln(1 - f)) between picks (std::log: the only floating-point step).
// Stratification and time/server filters are not planned here yet (issue 6).
// Not collective: the coordinator calls it; workers only see the references it hands out.
#pragma once
#include <cstdint>
#include <vector>

#include "fssl/archive.h"

namespace fssl {

struct PlanOptions {
  std::uint64_t seed = 0;          // the audit seed
  std::uint64_t sample_size = 0;   // > 0: exactly min(n, N) messages without replacement
  double fraction = 0.0;           // sample_size == 0: each message with this probability, in [0, 1]
};

struct AuditPlan {
  std::uint64_t population = 0;    // messages in the manifest
  std::vector<MessageRef> messages;  // ascending (shard, row)
};

// ConfigError when neither or both of sample_size and fraction are set, or fraction is outside [0, 1].
AuditPlan audit_plan(const Manifest& manifest, const PlanOptions& options);

}  // namespace fssl
