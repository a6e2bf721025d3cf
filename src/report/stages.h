// The stages of the audit report (report.h), private to src/report/ and its tests: each takes
// the options, the outcome and what the stages before it produced, and returns a value, so each
// can be checked alone. report_audit (summary.cpp) runs them in order:
//   tally -> judge -> bounds -> summary JSON -> files -> stdout block.
#pragma once
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fssl/audit_stats.h"
#include "fssl/report.h"
#include "report/bounds.h"

namespace fssl {

// Per (model, server, time window) counts of the sampled messages that were read.
struct StratumCounts {
  std::int64_t messages = 0, scored = 0, unverifiable = 0, flagged = 0, tokens = 0, exact = 0;
  std::int64_t tested = 0, tested_flagged = 0;  // scored / flagged under the calibrated message threshold
  std::array<std::int64_t, 3> tiers{};  // safe, suspicious, dangerous
};
using StratumKey = std::tuple<std::string, std::string, std::int64_t>;  // model, server, window index

// Stage 1: every message's outcome counted once.
struct AuditTally {
  AuditTally(const ScoreConfig& gumbel_config, const ScoreConfig& ipt_config) : gumbel(gumbel_config), ipt(ipt_config) {}
  AuditStats gumbel, ipt;                    // token statistics of each sampler family
  std::map<StratumKey, StratumCounts> strata;
  std::vector<std::string> flags;            // per result: why flagged ("" when not)
  std::vector<double> evidence;              // per result: the message evidence (alarm.h), +inf with an
                                             // impossible token, NaN when not scored
  nlohmann::json flagged = nlohmann::json::array(), unverifiable = nlohmann::json::array();
  std::map<std::uint32_t, std::pair<std::string, std::int64_t>> quarantined;  // shard -> first reason, messages
  std::vector<std::pair<double, std::uint64_t>> message_bits;  // per scored message: charged bits, tokens
  std::uint64_t n_scored = 0, n_unverifiable = 0, n_quarantined = 0, n_flagged = 0;
  std::uint64_t n_tested = 0, n_tested_flagged = 0;  // under the calibrated message threshold
  std::uint64_t n_impossible = 0;                    // messages with tokens no benign noise explains
  std::uint64_t n_tampered = 0;                      // records that do not match their stored digest
  std::int64_t window_us = 1;                // the strata's time-window width
};
AuditTally report_tally(const AuditOptions& options, const AuditOutcome& outcome);

// Stage 2 (and 3's policy lines appended): the human block's lines and the findings.
struct Verdict {
  std::vector<std::string> findings;                // empty: within policy
  std::vector<std::pair<std::string, bool>> lines;  // text, ok
  nlohmann::json alarm;                             // the calibrated rule's decision (null: fixed policy)
};
Verdict report_judge(const AuditOptions& options, const AuditOutcome& outcome, const AuditTally& tally);
// The calibrated alarm rule (alarm.h; report/alarm_verdict.cpp): the fleet and strata tests,
// impossible tokens and tampered records, into `verdict`.
void judge_alarm(const AuditOptions& options, const AuditTally& tally, Verdict* verdict);

// Stage 3: the fleet-wide bounds of the scored messages against the audited population.
BoundsReport report_bounds(const AuditOptions& options, const AuditOutcome& outcome, const AuditTally& tally);

// Stage 4: summary.json's object; `exit_code` as the audit decided it.
nlohmann::json report_summary(const AuditOptions& options, const AuditOutcome& outcome, const AuditTally& tally,
                              const Verdict& verdict, const BoundsReport& bounds, int exit_code);

// Stage 5: summary.json, report.html, and results.h5 when complete, each atomically (file.h).
void report_write_files(const AuditOptions& options, const AuditOutcome& outcome, const nlohmann::json& summary,
                        const AuditTally& tally);

// Stage 6: the human block on stdout.
void report_print_block(const AuditOptions& options, const AuditOutcome& outcome, const AuditTally& tally,
                        const Verdict& verdict, const BoundsReport& bounds, int exit_code);

// With a ground-truth file (--truth): flagged and evidence of the adversarial and the honest
// scored messages (report/detection_truth.cpp). ConfigError names the file and a missing message.
nlohmann::json truth_detection(const AuditOptions& options, const AuditOutcome& outcome, const AuditTally& tally);

// "YYYY-MM-DDTHH:MM:SSZ" of a time in microseconds since the epoch.
std::string utc_time(std::int64_t us);

}  // namespace fssl
