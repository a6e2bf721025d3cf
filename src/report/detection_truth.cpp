// An audit against ground truth (report.h truth_detection): which of the sampled messages the
// simulator says are adversarial, how many of each kind the audit flagged, and the evidence of
// both (what `fssl calibrate --adversarial` turns into ROC curves and power).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "fssl/error.h"
#include "report/stages.h"

namespace fssl {
namespace {

using nlohmann::json;

// message_id -> adversarial, from simulate's ARCHIVE.truth.jsonl (include/fssl/simulate.h).
std::map<std::uint64_t, bool> read_truth(const std::string& path) {
  std::ifstream in(path);
  FSSL_CHECK(in.good(), ConfigError, "--truth {}: cannot open", path);
  std::map<std::uint64_t, bool> truth;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      const json j = json::parse(line);
      truth[j.at("message_id").get<std::uint64_t>()] = j.at("adversarial").get<bool>();
    } catch (const json::exception& e) {
      FSSL_THROW(ConfigError, "--truth {}: line {}: {}", path, number, e.what());
    }
  }
  return truth;
}

struct Side {
  std::uint64_t scored = 0, flagged = 0, impossible = 0;
  std::vector<double> evidence;  // finite values, sorted

  json to_json() const {
    return {{"scored", scored}, {"flagged", flagged},
            {"rate", scored ? static_cast<double>(flagged) / static_cast<double>(scored) : 0.0},
            {"impossible", impossible}, {"evidence", evidence}};
  }
};

}  // namespace

json truth_detection(const AuditOptions& o, const AuditOutcome& out, const AuditTally& t) {
  const std::map<std::uint64_t, bool> truth = read_truth(o.alarm.truth_file);
  Side adversarial, honest;
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    const MessageResult& r = out.results[i];
    if (r.status != MessageStatus::kScored) continue;
    const auto it = truth.find(r.message_id);
    FSSL_CHECK(it != truth.end(), ConfigError, "--truth {}: no line for message {} (shard {}, row {})",
               o.alarm.truth_file, r.message_id, r.ref.shard, r.ref.row);
    Side& side = it->second ? adversarial : honest;
    ++side.scored;
    side.flagged += t.flags[i].empty() ? 0 : 1;
    if (std::isfinite(t.evidence[i])) {
      side.evidence.push_back(t.evidence[i]);
    } else {
      ++side.impossible;
    }
  }
  for (Side* s : {&adversarial, &honest}) std::sort(s->evidence.begin(), s->evidence.end());
  return {{"truth", o.alarm.truth_file}, {"adversarial", adversarial.to_json()}, {"honest", honest.to_json()}};
}

}  // namespace fssl
