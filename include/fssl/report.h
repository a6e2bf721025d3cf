// The audit's report: what the coordinator (or fssl merge) writes once the work is over, as a
// pipeline of named stages, each a function of the stage before (src/report/stages.h):
//   tally   per-message outcomes -> statistics, strata, flags, the lists of flagged /
//           unverifiable messages and quarantined shards
//   judge   the policy lines on counts (flagged, unverifiable, quarantined)
//   bounds  the fleet-wide statements (token FPR, extractable information, malicious share)
//   summary summary.json's object (docs/audit.md)
//   files   summary.json, report.html, results.h5 (complete audits), each written atomically
//   block   the human block on stdout
// Everything but the "run" and "timing" members of summary.json is a function of the results
// alone, which are a function of (archive, config, audit seed): two runs of one audit, resumed
// or not, on any number of ranks, write the same summary. One process (the coordinator); no MPI.
// Links no libtorch (CMake target fssl_report).
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fssl/audit_options.h"
#include "fssl/results.h"

namespace fssl {

// The report's input (report/summary.cpp): everything the coordinator writes once the work is over.
struct AuditOutcome {
  bool complete = false;
  std::uint64_t archive_messages = 0, population = 0, planned = 0, batches_total = 0, batches_resumed = 0;
  struct PlanStratumCount {
    std::string key;
    std::uint64_t population = 0, planned = 0;
  };
  std::vector<PlanStratumCount> plan_strata;
  std::pair<std::uint64_t, std::uint64_t> part_batches{0, 0};  // this run's batch ids (parts)
  std::vector<MessageResult> results;  // plan order (complete) or the finished part (incomplete)
  std::string archive_digest, model_fingerprint;
  std::vector<std::string> shard_files;            // manifest order (names quarantined shards)
  std::int64_t vocab_size = 0;                     // the audited model's logits width V
  double model_bytes = 0.0;                        // its weight files (the secret an exfiltration would move)
  double archive_output_tokens = 0.0;              // in the manifest (the population's when unfiltered)
  bool filtered = false;                           // filters or strata: the population's tokens are estimated
  int n_groups = 0;
  double wall_seconds = 0.0;    // the coordinator's, from start to the end of serving
  double serve_seconds = 0.0;   // from the first work request to the last reply
  double replay_seconds = 0.0;  // summed over groups: read + broadcast + replay + score per batch
  std::uint64_t output_tokens_run = 0, processed_tokens_run = 0;  // verified in this run (not resumed)
  std::string stop_reason;                         // why an incomplete run stopped
};

// Why a scored message is flagged under the policy ("" when it is not).
std::string flag_reasons(const MessageResult& result, const AuditPolicy& policy);

// Runs the stages: writes RUN/summary.json, RUN/report.html (and RUN/results.h5 when complete),
// prints the human block; returns the exit code (kExitOk, kExitFindings, kExitIncomplete; for
// `fssl calibrate` whether an operating point meets the target). Throws ArchiveError naming the
// file when one cannot be written.
int report_audit(const AuditOptions& options, const AuditOutcome& outcome);

// `fssl calibrate` (src/report/calibration_report.cpp): the frontiers into summary["calibration"],
// the operating points into RUN/calibration.json, the table on stdout; true when every sampler
// family seen has an operating point meeting the target.
bool write_calibration(const AuditOptions& options, const AuditOutcome& outcome, nlohmann::json* summary);

// `fssl calibrate --adversarial` (src/report/power_report.cpp), rank 0 after every adversarial
// archive `archives[k]` was audited into `runs[k]` with its ground truth: detection rates, ROC
// curves against the honest calibration set, power and the smallest detected malicious share,
// into RUN/calibration.json "power" and a table on stdout. ConfigError names a missing file.
void write_power(const AuditOptions& options, const std::vector<std::string>& archives,
                 const std::vector<std::string>& runs);

// A JSON file (calibration.json, summary.json); ConfigError naming the file when it cannot be
// opened or parsed.
nlohmann::json read_json_file(const std::string& path);

// The fields of the alarm rule a parsed calibration.json sets (version 2; src/report/
// calibration_report.cpp): the message thresholds and impossible margins per family, p0_upper
// (the largest of the families'; 1 when none is calibrated), the weakest measured adversary's
// detection rate. The one reading of them for fssl audit, calibrate's power and fssl plan.
// ConfigError names `path` for a malformed field.
void calibration_alarm(const nlohmann::json& calibration, const std::string& path, AlarmConfig* alarm);

// Applies RUN/calibration.json of `fssl calibrate` (docs/audit.md): the operating point's
// margin threshold and rank cutoff (and the inverse-CDF distance threshold when calibrated), and
// (version 2) the message thresholds and honest flag rate of the alarm rule (AlarmConfig) and the
// weakest adversary's detection rate when power was measured.
// Throws ConfigError naming the file when it is unreadable or has no operating point.
void apply_calibration_file(const std::string& path, AuditOptions* options);

}  // namespace fssl
