// The audit options as JSON (audit_options.h): the one list of them, echoed as summary.json's
// "config" and cut down to the audit's identity (src/audit/setup.h).
#include "fssl/audit_options.h"

#include <nlohmann/json.hpp>

namespace fssl {
namespace {

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const AuditOptions& o) {
  const AuditPolicy& p = o.policy;
  const BoundsConfig& b = o.bounds;
  return {{"archive", o.archive_dir}, {"model", o.model_dir}, {"seed", o.seed},
          {"sample_size", o.sample_size}, {"fraction", o.fraction}, {"token_budget", o.token_budget},
          {"time_from_us", optional_json(o.time_from_us)}, {"time_to_us", optional_json(o.time_to_us)},
          {"servers", o.servers}, {"stratify", o.stratify}, {"dtype", o.dtype}, {"force_model", o.force_model},
          {"window_hours", o.window_hours},
          {"score", {{"sigmas", o.score.sigmas}, {"margin_grid", o.score.margin_grid},
                     {"margin_threshold", o.score.margin_threshold}, {"rank_cutoff", o.score.rank_cutoff}}},
          {"ipt", {{"sigmas", o.ipt.sigmas}, {"distance_grid", o.ipt.distance_grid},
                   {"distance_threshold", o.ipt.distance_threshold}, {"rank_cutoff", o.ipt.rank_cutoff}}},
          {"policy", {{"dangerous_tokens", p.dangerous_tokens}, {"suspicious_fraction", p.suspicious_fraction},
                      {"max_flagged_messages", p.max_flagged_messages}, {"max_flagged_fraction", p.max_flagged_fraction},
                      {"max_unverifiable_fraction", p.max_unverifiable_fraction},
                      {"quarantine_is_finding", p.quarantine_is_finding}, {"max_dangerous_rate", p.max_dangerous_rate},
                      {"max_info_percent", p.max_info_percent}, {"max_malicious_fraction", p.max_malicious_fraction}}},
          {"bounds", {{"confidence", b.confidence}, {"detect_fraction", b.detect_fraction},
                      {"detect_catches", b.detect_catches}, {"secret_bytes", b.secret_bytes},
                      {"channel_bytes_per_day", b.channel_bytes_per_day},
                      {"output_tokens_per_day", b.output_tokens_per_day}}},
          {"alarm", {{"probability", o.alarm.probability}, {"calibration", o.alarm.calibration_file},
                     {"gumbel_threshold", optional_json(o.alarm.gumbel_threshold)},
                     {"ipt_threshold", optional_json(o.alarm.ipt_threshold)},
                     {"gumbel_impossible", o.alarm.gumbel_impossible}, {"ipt_impossible", o.alarm.ipt_impossible},
                     {"p0_upper", o.alarm.p0_upper}, {"detection", optional_json(o.alarm.detection)},
                     {"detection_adversary", o.alarm.detection_adversary}, {"truth", o.alarm.truth_file}}}};
}

}  // namespace fssl
