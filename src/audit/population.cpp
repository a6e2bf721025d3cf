// Filtered and stratified audit populations (audit/population.h).
#include "audit/population.h"

#include <cmath>
#include <ctime>
#include <map>

#include "fssl/error.h"

namespace fssl {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string window_key(std::int64_t window, std::int64_t window_us) {
  const std::time_t t = static_cast<std::time_t>(window * (window_us / 1000000));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// The segment filter of stratum `key` in a shard, on top of the audit's filters.
RowFilter stratum_filter(const RowFilter& base, Stratify stratify, const std::string& key, std::int64_t window) {
  RowFilter f = base;
  if (stratify == Stratify::kModel) f.model = key;
  if (stratify == Stratify::kServer) f.servers = {key};
  if (stratify == Stratify::kWindow) f.window = window;
  return f;
}

}  // namespace

bool RowFilter::matches(const ShardReader& shard, std::uint64_t row) const {
  const MessageColumns& c = shard.columns();
  const std::int64_t t = c.timestamp_us[row];
  if ((from_us && t < *from_us) || (to_us && t >= *to_us)) return false;
  if (window && floor_div(t, window_us) != *window) return false;
  if (!servers.empty() && !servers.count(shard.servers().at(c.server[row]))) return false;
  if (model && shard.models().at(c.model[row]).name != *model) return false;
  return true;
}

std::vector<Population> plan_population(const Manifest& manifest, const PlanOptions& o, const std::string& dir) {
  FSSL_CHECK(o.window_hours > 0, ConfigError, "audit plan: window width {} hours must be positive", o.window_hours);
  RowFilter base;
  base.from_us = o.time_from_us;
  base.to_us = o.time_to_us;
  base.servers.insert(o.servers.begin(), o.servers.end());
  base.window_us = std::max<std::int64_t>(1000000, std::llround(o.window_hours * 3600.0) * 1000000);
  std::map<std::string, Population> strata;
  auto add = [&](const std::string& key, PopulationSegment segment) {
    if (segment.count == 0) return;
    Population& p = strata[key];
    p.key = key;
    p.size += segment.count;
    p.segments.push_back(std::move(segment));
  };
  for (std::uint32_t k = 0; k < manifest.shards.size(); ++k) {
    const ShardEntry& s = manifest.shards[k];
    if (s.n_messages == 0) continue;
    if ((o.time_from_us && s.time_max_us < *o.time_from_us) || (o.time_to_us && s.time_min_us >= *o.time_to_us)) continue;
    const bool time_whole = (!o.time_from_us || s.time_min_us >= *o.time_from_us) && (!o.time_to_us || s.time_max_us < *o.time_to_us);
    std::uint64_t selected = 0;  // messages of the filter's servers, from the manifest
    for (const auto& [server, n] : s.servers) selected += base.servers.empty() || base.servers.count(server) ? n : 0;
    if (selected == 0) continue;
    const bool servers_whole = selected == s.n_messages;
    const std::int64_t first_window = floor_div(s.time_min_us, base.window_us);
    const bool one_window = first_window == floor_div(s.time_max_us, base.window_us);
    // What the manifest alone decides: a stratum's count in this shard, and whether that is the shard.
    bool decided = time_whole;
    if (decided && o.stratify == Stratify::kNone) {
      add("", {k, selected, servers_whole, base});
    } else if (decided && o.stratify == Stratify::kServer) {
      for (const auto& [server, n] : s.servers) {
        if (!base.servers.empty() && !base.servers.count(server)) continue;
        add(server, {k, n, n == s.n_messages, stratum_filter(base, o.stratify, server, 0)});
      }
    } else if (decided && o.stratify == Stratify::kModel && servers_whole) {
      for (const auto& [model, n] : s.models) add(model, {k, n, n == s.n_messages, stratum_filter(base, o.stratify, model, 0)});
    } else if (decided && o.stratify == Stratify::kWindow && one_window) {
      add(window_key(first_window, base.window_us), {k, selected, servers_whole, stratum_filter(base, o.stratify, "", first_window)});
    } else {
      decided = false;
    }
    if (decided) continue;
    // The manifest cannot tell: count this shard's rows per stratum from its columns.
    const ShardReader shard = ShardReader::open(dir + "/" + s.file);
    std::map<std::string, PopulationSegment> here;
    const MessageColumns& c = shard.columns();
    for (std::uint64_t row = 0; row < shard.n_messages(); ++row) {
      if (!base.matches(shard, row)) continue;
      std::string key;
      std::int64_t window = 0;
      if (o.stratify == Stratify::kModel) key = shard.models().at(c.model[row]).name;
      if (o.stratify == Stratify::kServer) key = shard.servers().at(c.server[row]);
      if (o.stratify == Stratify::kWindow) {
        window = floor_div(c.timestamp_us[row], base.window_us);
        key = window_key(window, base.window_us);
      }
      PopulationSegment& seg = here[key];
      if (seg.count == 0) seg = {k, 0, false, stratum_filter(base, o.stratify, key, window)};
      ++seg.count;
    }
    for (auto& [key, seg] : here) {
      seg.whole = seg.count == shard.n_messages();
      add(key, std::move(seg));
    }
  }
  std::vector<Population> out;
  for (auto& [key, p] : strata) out.push_back(std::move(p));
  return out;
}

std::vector<std::uint64_t> segment_rows(const std::string& dir, const Manifest& manifest, const PopulationSegment& seg) {
  const std::string path = dir + "/" + manifest.shards.at(seg.shard).file;
  const ShardReader shard = ShardReader::open(path);
  std::vector<std::uint64_t> rows;
  for (std::uint64_t row = 0; row < shard.n_messages(); ++row) {
    if (seg.filter.matches(shard, row)) rows.push_back(row);
  }
  FSSL_CHECK(rows.size() == seg.count, ArchiveError,
             "{}: {} messages match the audit's filters, the manifest promised {}: has the archive changed?", path,
             rows.size(), seg.count);
  return rows;
}

}  // namespace fssl
