// `fssl audit`, `fssl calibrate`, `fssl merge` (audit.h). Options from the command line and --config
// (the [audit] section of configs/audit.ini, shared by all three); SIGUSR1 and SIGTERM request a
// checkpoint.
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <sstream>
#include <tuple>

#include "cli/options.h"
#include "fssl/archive_import.h"
#include "fssl/audit.h"
#include "fssl/report.h"
#include "fssl/worker.h"
#include "fssl/audit_plan.h"
#include "fssl/mpi.h"
#include "fssl/simulate.h"

namespace fssl {
namespace {

// "0.01,0.1,1" -> {0.01, 0.1, 1}; ConfigError naming the option otherwise.
std::vector<double> parse_number_list(const std::string& text, const char* option) {
  std::vector<double> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FSSL_CHECK(used > 0 && used == item.size() && std::isfinite(value) && value >= 0, ConfigError,
               "--{}: '{}' is not a non-negative number", option, item);
    out.push_back(value);
  }
  FSSL_CHECK(!out.empty(), ConfigError, "--{}: empty list", option);
  return out;
}

std::optional<std::int64_t> parse_time(const std::string& text, const char* option) {
  if (text.empty()) return std::nullopt;
  std::int64_t us = 0;
  FSSL_CHECK(parse_rfc3339_us(text, &us), ConfigError, "--{}: '{}' is not an RFC 3339 time (2025-11-26T00:00:00Z)",
             option, text);
  return us;
}

std::string join(const std::vector<double>& values) {
  std::string out;
  for (double v : values) out += (out.empty() ? "" : ",") + fmt::format("{}", v);
  return out;
}

extern "C" void on_checkpoint_signal(int) { audit_request_checkpoint(); }

// SA_RESTART: a signal must not turn a blocking MPI or file call into an error.
void install_checkpoint_handlers() {
  struct sigaction action {};
  action.sa_handler = on_checkpoint_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// "I/N" with 0 <= I < N.
std::pair<int, int> parse_part(const std::string& text) {
  const std::size_t slash = text.find('/');
  int index = -1, count = 0;
  try {
    if (slash != std::string::npos) {
      index = std::stoi(text.substr(0, slash));
      count = std::stoi(text.substr(slash + 1));
    }
  } catch (const std::exception&) {
    count = 0;
  }
  FSSL_CHECK(count >= 1 && index >= 0 && index < count, ConfigError,
             "--part {}: expected I/N with 0 <= I < N (array task I of N, e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)",
             text);
  return {index, count};
}

enum class Mode { kAudit, kCalibrate, kMerge };

// The options given as text, parsed once the command line and --config are merged.
struct AuditText {
  std::string sigmas, grid, ipt_sigmas, ipt_grid;
  std::string time_from, time_to, servers, part = "0/1";
  std::vector<std::string> part_dirs;
};

// Inputs, sample, replay and run control.
void add_run_options(po::options_description& o, AuditOptions& a, AuditText& t) {
  o.add_options()
      ("archive", po::value<std::string>(&a.archive_dir)->required(), "log archive directory")
      ("model", po::value<std::string>(&a.model_dir)->required(), "Hugging Face model directory the fleet serves")
      ("out", po::value<std::string>(&a.run_dir)->required(), "run directory (journal, summary.json, results.h5); "
       "rerunning on the same directory resumes")
      ("seed", po::value<std::uint64_t>(&a.seed)->default_value(a.seed), "audit seed (which messages are sampled)")
      ("sample", po::value<std::uint64_t>(&a.sample_size)->default_value(a.sample_size),
       "messages to audit, uniformly without replacement (0: use --fraction)")
      ("fraction", po::value<double>(&a.fraction)->default_value(a.fraction), "audit each message with this probability")
      ("time-from", po::value<std::string>(&t.time_from), "audit messages logged at or after this time (RFC 3339)")
      ("time-to", po::value<std::string>(&t.time_to), "audit messages logged before this time (RFC 3339)")
      ("servers", po::value<std::string>(&t.servers), "comma-separated server ids to audit (default: all)")
      ("stratify", po::value<std::string>(&a.stratify)->default_value(a.stratify),
       "none | model | server | window: sample --sample messages from each stratum (window: --window-hours)")
      ("tp", po::value<int>(&a.tp_size)->default_value(a.tp_size), "ranks per tensor-parallel worker group")
      ("token-budget", po::value<std::uint64_t>(&a.token_budget)->default_value(a.token_budget),
       "estimated tokens per work batch")
      ("dtype", po::value<std::string>(&a.dtype)->default_value(a.dtype), "replay compute dtype: fp32 | bf16")
      ("device", po::value<std::string>(&a.device)->default_value(a.device),
       "replay device: cpu | cuda (bf16, one GPU per worker rank by SLURM_LOCALID / OMPI_COMM_WORLD_LOCAL_RANK; "
       "tensor-parallel size 1 scores on the GPU with the fused kernels)")
      ("threads", po::value<int>(&a.n_threads)->default_value(a.n_threads),
       "intra-op threads per worker rank (0: the node's cores / its ranks)")
      ("force-model", po::bool_switch(&a.force_model), "audit an archive logged with another model fingerprint")
      ("max-time", po::value<double>(&a.max_time_hours)->default_value(a.max_time_hours),
       "hours: checkpoint and stop (exit 4) before this much wall time (0: no limit)")
      ("progress-seconds", po::value<double>(&a.progress_seconds)->default_value(a.progress_seconds),
       "progress line interval")
      ("window-hours", po::value<double>(&a.window_hours)->default_value(a.window_hours),
       "time-window width of the per-stratum statistics");
}

// The scores and the three-tier classifier (scoring.h, scoring_ipt.h).
void add_scoring_options(po::options_description& o, AuditOptions& a, AuditText& t) {
  t.sigmas = join(a.score.sigmas);
  t.grid = join(a.score.margin_grid);
  t.ipt_sigmas = join(a.ipt.sigmas);
  t.ipt_grid = join(a.ipt.distance_grid);
  o.add_options()
      ("sigmas", po::value<std::string>(&t.sigmas)->default_value(t.sigmas), "GM-LS noise scales (logits)")
      ("margin-grid", po::value<std::string>(&t.grid)->default_value(t.grid), "admissible-set margin thresholds (logits)")
      ("margin-threshold", po::value<double>(&a.score.margin_threshold)->default_value(a.score.margin_threshold),
       "tau: a token within this margin is safe")
      ("rank-cutoff", po::value<std::int64_t>(&a.score.rank_cutoff)->default_value(a.score.rank_cutoff),
       "R: a token of Gumbel rank <= R is suspicious, beyond it dangerous")
      ("ipt-sigmas", po::value<std::string>(&t.ipt_sigmas)->default_value(t.ipt_sigmas), "IPT-LS jitter scales")
      ("ipt-distance-grid", po::value<std::string>(&t.ipt_grid)->default_value(t.ipt_grid), "IPT admissible distances")
      ("ipt-distance-threshold", po::value<double>(&a.ipt.distance_threshold)->default_value(a.ipt.distance_threshold),
       "IPT: a token within this distance is safe");
}

// When a complete audit has findings, and the fleet-wide statements (report.h).
void add_policy_options(po::options_description& o, AuditOptions& a) {
  o.add_options()
      ("policy-dangerous-tokens", po::value<std::int64_t>(&a.policy.dangerous_tokens)->default_value(a.policy.dangerous_tokens),
       "flag a message with at least this many dangerous tokens")
      ("policy-suspicious-fraction",
       po::value<double>(&a.policy.suspicious_fraction)->default_value(a.policy.suspicious_fraction),
       "flag a message with more than this share of non-safe tokens")
      ("policy-max-flagged", po::value<std::uint64_t>(&a.policy.max_flagged_messages)->default_value(a.policy.max_flagged_messages),
       "findings (exit 3) when more messages are flagged")
      ("policy-max-flagged-fraction",
       po::value<double>(&a.policy.max_flagged_fraction)->default_value(a.policy.max_flagged_fraction),
       "findings when a larger share of the scored messages is flagged (1: off)")
      ("policy-max-unverifiable",
       po::value<double>(&a.policy.max_unverifiable_fraction)->default_value(a.policy.max_unverifiable_fraction),
       "findings when a larger share of the sample is unverifiable or quarantined")
      ("policy-max-fpr", po::value<double>(&a.policy.max_dangerous_rate)->default_value(a.policy.max_dangerous_rate),
       "findings when the token false-positive rate's upper bound is higher (a fraction; 1: off)")
      ("policy-max-info-percent", po::value<double>(&a.policy.max_info_percent)->default_value(a.policy.max_info_percent),
       "findings when the extractable-information upper bound is higher (% of log2 V)")
      ("policy-max-malicious", po::value<double>(&a.policy.max_malicious_fraction)->default_value(a.policy.max_malicious_fraction),
       "findings when the upper bound on the malicious share of the traffic is higher (a fraction)")
      ("confidence", po::value<double>(&a.bounds.confidence)->default_value(a.bounds.confidence),
       "confidence of every interval and bound in the summary")
      ("detect-fraction", po::value<double>(&a.bounds.detect_fraction)->default_value(a.bounds.detect_fraction),
       "report the chance this sample catches a malicious share this large")
      ("detect-catches", po::value<std::uint64_t>(&a.bounds.detect_catches)->default_value(a.bounds.detect_catches),
       "... at least this many of them")
      ("secret-bytes", po::value<double>(&a.bounds.secret_bytes)->default_value(a.bounds.secret_bytes),
       "bytes an exfiltration would move (0: the model's weight files)")
      ("channel-bytes-per-day", po::value<double>(&a.bounds.channel_bytes_per_day)->default_value(a.bounds.channel_bytes_per_day),
       "raw output channel of the fleet in bytes/day (0: from --output-tokens-per-day)")
      ("output-tokens-per-day", po::value<double>(&a.bounds.output_tokens_per_day)->default_value(a.bounds.output_tokens_per_day),
       "fleet output tokens per day (with log2 V: the raw channel)")
      ("alarm-probability", po::value<double>(&a.alarm.probability)->default_value(a.alarm.probability),
       "with a calibration: the per-audit false-alarm probability alpha (docs/audit.md, Alarms)")
      ("policy-quarantine-is-finding",
       po::value<bool>(&a.policy.quarantine_is_finding)->default_value(a.policy.quarantine_is_finding),
       "findings when a shard is quarantined");
}

// The text options into `a`; ConfigError names a malformed one.
void parse_text_options(const AuditText& t, AuditOptions& a) {
  std::tie(a.part_index, a.part_count) = parse_part(t.part);
  a.score.sigmas = parse_number_list(t.sigmas, "sigmas");
  a.score.margin_grid = parse_number_list(t.grid, "margin-grid");
  a.ipt.sigmas = parse_number_list(t.ipt_sigmas, "ipt-sigmas");
  a.ipt.distance_grid = parse_number_list(t.ipt_grid, "ipt-distance-grid");
  a.ipt.rank_cutoff = a.score.rank_cutoff;
  a.time_from_us = parse_time(t.time_from, "time-from");
  a.time_to_us = parse_time(t.time_to, "time-to");
  std::stringstream list(t.servers);
  for (std::string item; std::getline(list, item, ',');) {
    if (!item.empty()) a.servers.push_back(item);
  }
  parse_stratify(a.stratify);  // refuse a bad name before MPI starts
  FSSL_CHECK(a.token_budget > 0, ConfigError, "--token-budget must be positive");
}

// `fssl audit`, `fssl calibrate` and `fssl merge` share every option: calibration is an audit of
// honest traffic whose report is the frontier; a merge is the report of the parts' union.
int run_audit_command(const std::vector<std::string>& args, Mode mode) {
  const bool calibrating = mode == Mode::kCalibrate;
  CommandSpec spec{mode == Mode::kMerge ? "merge" : calibrating ? "calibrate" : "audit", "",
                   mode == Mode::kMerge
                       ? "fssl merge --archive DIR --model DIR --out MERGED_DIR [the parts' audit options] PART_DIR..."
                   : calibrating
                       ? "mpirun -np N fssl calibrate --archive HONEST_DIR --model DIR --out RUN_DIR (--sample N | "
                         "--fraction F) [--target-fpr PERCENT] [--rank-cutoffs 1,4,8,16,32] [--margin-grid ...]"
                       : "mpirun -np N fssl audit --archive DIR --model DIR --out RUN_DIR (--sample N | --fraction F) "
                         "[--seed S] [--tp T] [--part I/N] [--calibration RUN/calibration.json] [--config configs/audit.ini]"};
  // One configs/audit.ini serves all three: calibrate and merge read its [audit] section too (their
  // own [calibrate] / [merge] section wins), so a merge sees the parts' plan and scoring options.
  if (mode != Mode::kAudit) spec.shared_section = "audit";
  po::options_description o("Options");
  AuditOptions a;
  CalibrationOptions calibration;
  std::string rank_cutoffs = "1,4,8,16,32", calibration_file;
  if (calibrating) {
    // A finer default grid: the frontier has one point per threshold and rank cutoff.
    a.score.margin_grid = {0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
    o.add_options()
        ("target-fpr", po::value<double>(&calibration.target_fpr_percent)->default_value(calibration.target_fpr_percent),
         "target token false-positive rate, in percent")
        ("rank-cutoffs", po::value<std::string>(&rank_cutoffs)->default_value(rank_cutoffs), "rank cutoffs R to sweep")
        ("max-suspicious-percent",
         po::value<double>(&calibration.max_suspicious_percent)->default_value(calibration.max_suspicious_percent),
         "drop operating points with more suspicious tokens (percent)")
        ("target-message-fpr",
         po::value<double>(&calibration.target_message_fpr_percent)->default_value(calibration.target_message_fpr_percent),
         "target message false-positive rate, in percent (certified with >= ln(1/(1-confidence))/target messages)")
        ("adversarial", po::value<std::vector<std::string>>(&calibration.adversarial_archives),
         "an adversarial archive with ground truth (fssl simulate --adversary), audited at the calibrated point "
         "for detection rates, ROC and power; repeatable")
        ("power-messages", po::value<std::uint64_t>(&calibration.power_messages)->default_value(calibration.power_messages),
         "the audit size the smallest detectable malicious share is stated for");
  } else {
    o.add_options()("calibration", po::value<std::string>(&calibration_file),
                    "calibration.json of fssl calibrate: its margin threshold, rank cutoff and message alarm rule "
                    "replace the options'");
  }
  if (mode == Mode::kAudit) {
    o.add_options()("truth", po::value<std::string>(&a.alarm.truth_file),
                    "ground truth of a simulated archive (ARCHIVE.truth.jsonl): summary.json gets the detection rates");
  }
  AuditText t;
  if (mode == Mode::kMerge) {
    o.add_options()("runs", po::value<std::vector<std::string>>(&t.part_dirs), "run directories of the parts");
  } else {
    o.add_options()("part", po::value<std::string>(&t.part)->default_value(t.part),
                    "replay batch range I of N only (array task I of N); fssl merge combines the parts");
  }
  add_run_options(o, a, t);
  add_scoring_options(o, a, t);
  add_policy_options(o, a);
  po::variables_map vm;
  if (!cli_parse(spec, args, o, mode == Mode::kMerge ? std::vector<std::string>{"runs*"} : std::vector<std::string>{},
                 &vm)) {
    return kExitOk;
  }
  parse_text_options(t, a);
  // Ground truth is read at the end of the audit: refuse a missing file before any replay.
  for (const std::string& archive : calibration.adversarial_archives) {
    FSSL_CHECK(std::filesystem::exists(simulate_truth_path(archive)), ConfigError,
               "--adversarial {}: no ground truth {} (fssl simulate --adversary writes it)", archive,
               simulate_truth_path(archive));
  }
  FSSL_CHECK(a.alarm.truth_file.empty() || std::filesystem::exists(a.alarm.truth_file), ConfigError,
             "--truth {}: no such file", a.alarm.truth_file);
  FSSL_CHECK(a.alarm.probability > 0.0 && a.alarm.probability < 1.0, ConfigError,
             "--alarm-probability {} must lie in (0, 1)", a.alarm.probability);
  if (calibrating) {
    calibration.rank_cutoffs.clear();
    for (double r : parse_number_list(rank_cutoffs, "rank-cutoffs")) calibration.rank_cutoffs.push_back(std::llround(r));
    a.calibration = calibration;
  }
  if (!calibration_file.empty()) apply_calibration_file(calibration_file, &a);

  if (mode == Mode::kMerge) return merge_runs(a, t.part_dirs);  // no MPI: the parts did the replay
  MpiEnvironment env(nullptr, nullptr);
  install_checkpoint_handlers();
  MpiComm world;
  const int code = run_audit(world, a);
  if (!calibrating || calibration.adversarial_archives.empty() || code == kExitIncomplete) return code;
  return run_power_audits(world, a, code);
}

}  // namespace

int cli_audit(const std::vector<std::string>& args) { return run_audit_command(args, Mode::kAudit); }
int cli_calibrate(const std::vector<std::string>& args) { return run_audit_command(args, Mode::kCalibrate); }
int cli_merge(const std::vector<std::string>& args) { return run_audit_command(args, Mode::kMerge); }

}  // namespace fssl
