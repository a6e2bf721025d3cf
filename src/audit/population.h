// The population an audit plan samples from when filters or strata are set (audit_plan.h):
// per stratum, a list of per-shard segments with their message counts, decided from the
// manifest where it can be and from the shard's columns where it cannot. Private to
// audit/plan.cpp and audit/population.cpp.
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/audit_plan.h"

namespace fssl {

// Which rows of a shard belong to a segment.
struct RowFilter {
  std::optional<std::int64_t> from_us, to_us;  // [from, to)
  std::set<std::string> servers;               // empty: any server
  std::optional<std::string> model;            // stratum by model
  std::optional<std::int64_t> window;          // stratum by time window (index of width window_us)
  std::int64_t window_us = 1;
  bool matches(const ShardReader& shard, std::uint64_t row) const;
};

struct PopulationSegment {
  std::uint32_t shard = 0;
  std::uint64_t count = 0;
  bool whole = false;  // rows [0, count) of the shard: no lookup needed
  RowFilter filter;    // otherwise: the matching rows, in order, are the segment
};

struct Population {
  std::string key;
  std::vector<PopulationSegment> segments;  // manifest order
  std::uint64_t size = 0;
};

// Strata sorted by key (one stratum "" without stratification); empty strata are dropped.
std::vector<Population> plan_population(const Manifest& manifest, const PlanOptions& options,
                                        const std::string& archive_dir);

// The rows of a non-whole segment, ascending; ArchiveError if its shard cannot be read or the
// count differs from the manifest's (an archive changed under the plan).
std::vector<std::uint64_t> segment_rows(const std::string& archive_dir, const Manifest& manifest,
                                        const PopulationSegment& segment);

}  // namespace fssl
