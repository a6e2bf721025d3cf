// The calibrated alarm rule (stages.h judge_alarm; alarm.h; verification-math.md §14): the flagged
// count against what honest traffic produces, fleet-wide and per stratum with Holm's step-down,
// and what alarms regardless: tampered records and tokens no benign noise explains.
#include <fmt/format.h>

#include <optional>

#include "fssl/alarm.h"
#include "fssl/detection.h"
#include "report/stages.h"

namespace fssl {
namespace {

using nlohmann::json;

// P[Binomial(n, p0) >= k]: how surprising k flags are for honest traffic.
double p_value(std::uint64_t n, double p0, std::uint64_t k) { return k == 0 ? 1.0 : binomial_at_least(n, p0, k); }

std::string percent(double x) { return fmt::format("{:.3g} %", 100 * x); }

// "alarm: 7 flagged of 25,000, honest traffic flags <= 3 (p0 <= 0.012 %, alpha = 1 %)".
std::string statement(bool alarm, std::uint64_t k, std::uint64_t n, std::uint64_t q, double p0, double alpha,
                      double level, std::size_t alarmed_strata) {
  std::string s = fmt::format("{}: {} flagged of {}, honest traffic flags <= {} (p0 <= {}, alpha = {}", alarm ? "alarm"
                                                                                                              : "quiet",
                              k, n, q, percent(p0), percent(alpha));
  if (level < alpha) s += fmt::format(", {} fleet-wide", percent(level));
  s += ")";
  if (alarmed_strata > 0) s += fmt::format("; {} stratum/strata over their honest rate (Holm)", alarmed_strata);
  return s;
}

}  // namespace

void judge_alarm(const AuditOptions& o, const AuditTally& t, Verdict* v) {
  const AlarmConfig& a = o.alarm;
  const double alpha = a.probability, p0 = a.p0_upper;
  auto line = [&](bool ok, const std::string& text, const std::string& finding) {
    v->lines.emplace_back(text, ok);
    if (!ok) v->findings.push_back(finding);
  };
  // The family: the fleet, and the strata when there is more than one (weighted Holm: the fleet
  // half of alpha, the strata the other half in equal shares).
  std::vector<const std::pair<const StratumKey, StratumCounts>*> strata;
  for (const auto& entry : t.strata) {
    if (entry.second.tested > 0) strata.push_back(&entry);
  }
  const bool stratified = strata.size() > 1;
  std::vector<double> p{p_value(t.n_tested, p0, t.n_tested_flagged)}, w{stratified ? 0.5 : 1.0};
  for (const auto* s : strata) {
    p.push_back(p_value(static_cast<std::uint64_t>(s->second.tested), p0,
                        static_cast<std::uint64_t>(s->second.tested_flagged)));
    w.push_back(0.5 / static_cast<double>(strata.size()));
  }
  const std::vector<bool> rejected = weighted_holm(p, w, alpha);
  const double fleet_level = stratified ? alpha / 2 : alpha;
  const std::uint64_t q = alarm_quantile(t.n_tested, p0, fleet_level);
  json strata_json = json::array();
  std::size_t alarmed_strata = 0;
  for (std::size_t i = 0; i < strata.size(); ++i) {
    const auto& [key, c] = *strata[i];
    const auto& [model, server, window] = key;
    alarmed_strata += rejected[i + 1] ? 1 : 0;
    strata_json.push_back({{"model", model}, {"server", server}, {"window_start", utc_time(window * t.window_us)},
                           {"scored", c.tested}, {"flagged", c.tested_flagged}, {"p_value", p[i + 1]},
                           {"alarm", static_cast<bool>(rejected[i + 1])}});
    if (rejected[i + 1]) {
      line(false, fmt::format("stratum {} / {} / {}: {} flagged of {}, p = {:.3g}", model, server,
                              utc_time(window * t.window_us), c.tested_flagged, c.tested, p[i + 1]),
           fmt::format("{} / {}: {} flagged of {} (p = {:.3g} under honest traffic, Holm)", model, server,
                       c.tested_flagged, c.tested, p[i + 1]));
    }
  }
  const bool alarm = rejected[0] || alarmed_strata > 0;
  const std::string said = statement(alarm, t.n_tested_flagged, t.n_tested, q, p0, alpha, fleet_level, alarmed_strata);
  line(!rejected[0], said, said);
  line(t.n_impossible == 0, fmt::format("impossible tokens  {:>10} message(s)   alarm regardless", t.n_impossible),
       fmt::format("{} message(s) hold tokens no benign noise explains", t.n_impossible));
  line(t.n_tampered == 0, fmt::format("tampered records   {:>10}   alarm regardless", t.n_tampered),
       fmt::format("{} record(s) do not match their stored digest (tampered or corrupt)", t.n_tampered));
  // Messages of a family the calibration has no threshold for: the fixed counts judge them.
  const std::uint64_t uncalibrated = t.n_flagged - t.n_tested_flagged;
  if (t.n_scored > t.n_tested) {
    line(uncalibrated <= o.policy.max_flagged_messages,
         fmt::format("uncalibrated flags {:>10}   policy <= {}", uncalibrated, o.policy.max_flagged_messages),
         fmt::format("{} flagged message(s) of a sampler family without a calibrated threshold", uncalibrated));
  }
  v->alarm = {{"rule", "calibrated"}, {"alarm", alarm || t.n_impossible > 0 || t.n_tampered > 0},
              {"statement", said}, {"alpha", alpha}, {"p0_upper", p0}, {"calibration", a.calibration_file},
              {"fleet", {{"scored", t.n_tested}, {"flagged", t.n_tested_flagged}, {"quantile", q},
                         {"level", fleet_level}, {"p_value", p[0]}, {"alarm", static_cast<bool>(rejected[0])}}},
              {"multiplicity", stratified ? "weighted Holm: the fleet alpha/2, each of the strata alpha/(2 S)"
                                          : "none (one stratum)"},
              {"strata", strata_json}, {"impossible_messages", t.n_impossible}, {"tampered_records", t.n_tampered},
              {"uncalibrated_flagged", uncalibrated}};
  // Power: the weakest calibrated adversary, at this audit's size.
  if (a.detection && t.n_tested > 0) {
    const std::optional<double> share = min_detectable_share(t.n_tested, p0, *a.detection, fleet_level, 0.99);
    v->alarm["power"] = {{"adversary", a.detection_adversary}, {"detection_rate", *a.detection},
                         {"min_share_detected_99", share ? json(*share) : json(nullptr)}};
  }
}

}  // namespace fssl
