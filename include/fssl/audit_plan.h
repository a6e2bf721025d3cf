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
// Filters (a time range, a set of servers) restrict the population; stratification (by model,
// server or time window) samples each stratum on its own stream (counter word 2 = stratum
// number + 1), `sample_size` messages from each (equal allocation: every server or model is
// audited as thoroughly), or each message with probability `fraction`. The manifest decides
// most shards whole (time range inside or outside the filter, one server or model, one window);
// a shard it cannot decide is opened and its columns read (audit/population.cpp): at planning
// time when its count is not in the manifest, at row lookup when only its rows are needed (one
// shard in memory at a time).
// Not collective: the coordinator calls it; workers only see the references it hands out.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fssl/archive.h"

namespace fssl {

enum class Stratify { kNone, kModel, kServer, kWindow };
Stratify parse_stratify(const std::string& name);  // none | model | server | window; ConfigError otherwise
const char* stratify_name(Stratify s);

struct PlanOptions {
  std::uint64_t seed = 0;          // the audit seed
  std::uint64_t sample_size = 0;   // > 0: exactly min(n, N) messages without replacement (per stratum)
  double fraction = 0.0;           // sample_size == 0: each message with this probability, in [0, 1]
  std::optional<std::int64_t> time_from_us, time_to_us;  // keep timestamps in [from, to)
  std::vector<std::string> servers;                      // keep these servers (empty: all)
  Stratify stratify = Stratify::kNone;
  double window_hours = 24.0;      // width of a time-window stratum (UTC, from the epoch)

  bool filtered() const { return time_from_us || time_to_us || !servers.empty() || stratify != Stratify::kNone; }
};

struct PlanStratum {
  std::string key;                 // "" unstratified; the model, the server, or the window's UTC start
  std::uint64_t population = 0;    // messages of the stratum that pass the filters
  std::uint64_t planned = 0;
};

struct AuditPlan {
  std::uint64_t population = 0;    // messages that pass the filters (all of the manifest without filters)
  std::vector<PlanStratum> strata; // by key; one stratum "" without stratification
  std::vector<MessageRef> messages;  // ascending (shard, row)
};

// ConfigError when neither or both of sample_size and fraction are set, or fraction is outside
// [0, 1]. With filters or strata, shards the manifest cannot decide are read from `archive_dir`
// (ArchiveError names a shard that cannot be read).
AuditPlan audit_plan(const Manifest& manifest, const PlanOptions& options, const std::string& archive_dir = "");

}  // namespace fssl
