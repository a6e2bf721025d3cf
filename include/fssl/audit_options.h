// What `fssl audit` (and calibrate, merge) is asked to do: the archive, model and run
// directory, the sample, the replay, the scoring configuration, the policy and the fleet bounds.
// Plain values without libtorch: the coordinator side reads them, the CLI fills them
// (src/cli/audit.cpp), and to_json gives the one list of them that the summary echoes and the
// audit's identity is cut from (src/audit/setup.h). Nothing here is collective.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fssl/calibration.h"
#include "fssl/scoring_types.h"

namespace fssl {

// When a complete audit is "within policy" (exit 0) or has findings (exit 3).
struct AuditPolicy {
  std::int64_t dangerous_tokens = 1;         // a message with at least this many dangerous tokens is flagged
  double suspicious_fraction = 0.25;         // ... or with more than this share of non-safe tokens
  std::uint64_t max_flagged_messages = 0;    // findings when more messages are flagged
  double max_flagged_fraction = 1.0;         // ... or a larger share of the scored messages (1: off)
  double max_unverifiable_fraction = 0.05;   // findings when more of the sample is unverifiable
  bool quarantine_is_finding = true;         // findings when any shard was quarantined
  double max_dangerous_rate = 1.0;           // findings when the token FPR's upper bound is higher (1: off)
  double max_info_percent = 100.0;           // ... when the extractable-information upper bound is higher
  double max_malicious_fraction = 1.0;       // ... when the malicious-traffic upper bound is higher
};

// The calibrated alarm rule (alarm.h; docs/audit.md "Alarms"), from `--calibration FILE`: a
// message is flagged when its evidence (the sum of its token margins) exceeds its family's
// threshold, or it holds a token no benign noise explains; the audit alarms when the flagged count
// exceeds what honest traffic produces at p0_upper with probability alpha (per stratum: Holm).
// Without a message threshold (no calibration, or one of an older fssl) the fixed AuditPolicy
// counts decide instead.
struct AlarmConfig {
  double probability = 0.01;                // alpha: the per-audit false-alarm probability
  std::optional<double> gumbel_threshold;   // message evidence thresholds per sampler family
  std::optional<double> ipt_threshold;
  double gumbel_impossible = 0.0;           // the widest margin benign noise explains (calibrated grid's largest)
  double ipt_impossible = 0.0;
  double p0_upper = 1.0;                    // the honest flag rate's upper bound (largest of the families')
  std::string calibration_file;             // where they came from
  std::optional<double> detection;          // the weakest calibrated adversary's detection rate (power)
  std::string detection_adversary;          // ... and its name
  std::string truth_file;                   // ground truth (simulate's ARCHIVE.truth.jsonl): summary "detection"
  bool calibrated() const { return gumbel_threshold.has_value() || ipt_threshold.has_value(); }
};

// The fleet-wide statements every summary carries (verification-math.md §7-§8).
struct BoundsConfig {
  double confidence = 0.95;          // of every interval and bound
  double detect_fraction = 0.01;     // p: would this sample have caught a p share of malicious messages?
  std::uint64_t detect_catches = 1;  // k: ... at least k of them?
  double secret_bytes = 0.0;         // size to exfiltrate (0: the audited model's weight files)
  double channel_bytes_per_day = 0.0;     // raw output channel (0: output tokens/day x log2 V / 8)
  double output_tokens_per_day = 0.0;     // fleet output (0: no exfiltration timeline unless the above is set)
};

struct AuditOptions {
  std::string archive_dir, model_dir, run_dir;
  std::uint64_t seed = 0;               // the audit seed
  std::uint64_t sample_size = 0;        // exact n without replacement, or
  double fraction = 0.0;                // each message with this probability
  std::optional<std::int64_t> time_from_us, time_to_us;  // audit messages logged in [from, to)
  std::vector<std::string> servers;     // audit these servers only (empty: all)
  std::string stratify = "none";        // none | model | server | window: --sample per stratum
  int tp_size = 1;                      // ranks per worker group
  int part_index = 0, part_count = 1;   // --part I/N: this run replays batch range I of N (array tasks; fssl merge)
  std::uint64_t token_budget = 4096;    // estimated prompt + output tokens per work batch
  std::string dtype = "fp32";           // replay compute dtype on the CPU: fp32 | bf16
  std::string device = "cpu";           // replay device: cpu | cuda (one GPU per worker rank, chosen by
                                        // node-local rank (gpu.h); the model replays in bf16 there)
  int n_threads = 0;                    // intra-op threads per worker rank (0: cores / ranks on the node)
  bool force_model = false;             // audit an archive logged with another model fingerprint
  double max_time_hours = 0.0;          // > 0: checkpoint and stop before this much wall time has passed
  double progress_seconds = 10.0;       // progress line interval
  double sync_seconds = 5.0;            // journal fsync interval
  double window_hours = 24.0;           // time-window width of the per-stratum statistics
  ScoreConfig score;
  IptConfig ipt;
  AuditPolicy policy;
  BoundsConfig bounds;
  AlarmConfig alarm;
  // Set by `fssl calibrate`: report the FPR vs information frontier of the (honest) sample and
  // write RUN/calibration.json; the exit code says whether an operating point meets the target.
  std::optional<CalibrationOptions> calibration;
};

// Every option as the summary's "config" echo (docs/audit.md): archive and model paths, sample,
// filters, replay dtype, scoring, IPT, policy and bounds. The device, tp size and part are run
// facts and stay out (summary "run"); the audit identity adds the device (src/audit/setup.h).
nlohmann::json to_json(const AuditOptions& options);

}  // namespace fssl
