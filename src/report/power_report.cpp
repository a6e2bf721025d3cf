// `fssl calibrate --adversarial` (report.h write_power): each adversarial archive was audited at
// the calibrated point with its ground truth; here its flagged share becomes a detection rate,
// its evidence against the honest calibration set an ROC curve and AUC, and the rates the power
// and the smallest malicious share an audit detects (alarm.h), into calibration.json "power".
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <limits>

#include "fssl/alarm.h"
#include "fssl/error.h"
#include "fssl/file.h"
#include "fssl/report.h"

namespace fssl {
namespace {

using nlohmann::json;

// Finite evidence values plus `impossible` times +inf.
std::vector<double> with_impossible(const json& side) {
  std::vector<double> v = side.at("evidence").get<std::vector<double>>();
  v.insert(v.end(), side.at("impossible").get<std::size_t>(), std::numeric_limits<double>::infinity());
  return v;
}

}  // namespace

void write_power(const AuditOptions& o, const std::vector<std::string>& archives, const std::vector<std::string>& runs) {
  const std::string path = o.run_dir + "/calibration.json";
  json cal = read_json_file(path);
  // The honest evidence of the family with a message threshold (Gumbel-max first).
  const char* family = cal.contains("gumbel_max") && cal["gumbel_max"].contains("message") ? "gumbel_max" : "inverse_cdf";
  FSSL_CHECK(cal.contains(family) && cal[family].contains("message"), ConfigError,
             "{}: no message threshold to measure power at", path);
  const json& message = cal[family]["message"];
  std::vector<double> honest = message.at("honest_evidence").get<std::vector<double>>();
  honest.insert(honest.end(), message.at("impossible_messages").get<std::size_t>(),
                std::numeric_limits<double>::infinity());
  const double threshold = message.at("threshold").get<double>();
  AlarmConfig calibrated;
  calibration_alarm(cal, path, &calibrated);
  const double p0 = calibrated.p0_upper;
  const double alpha = o.alarm.probability;
  const std::uint64_t n = o.calibration->power_messages;
  fmt::print("#\n# power at the calibrated point: message threshold {:.6g}, p0 <= {:.4g}%, alpha {:g}%, audits of {} "
             "messages\n#   {:<28} {:>9} {:>9} {:>7} {:>16} {:>14}\n",
             threshold, 100 * p0, 100 * alpha, n, "adversary", "messages", "detected", "AUC", "min share (99%)",
             "power at 1%");
  json adversaries = json::array();
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const json summary = read_json_file(runs[k] + "/summary.json");
    FSSL_CHECK(summary.contains("detection"), ConfigError, "{}/summary.json: no detection section (incomplete run?)",
               runs[k]);
    const json& adv = summary["detection"]["adversarial"];
    const std::uint64_t scored = adv.at("scored").get<std::uint64_t>();
    const std::string name = std::filesystem::path(archives[k]).filename().string();
    json entry = {{"name", name}, {"archive", archives[k]}, {"run", runs[k]}, {"adversarial_messages", scored},
                  {"detected", adv.at("flagged")}, {"detection_rate", adv.at("rate")},
                  {"honest_in_archive", summary["detection"]["honest"].at("scored")},
                  {"honest_in_archive_flagged", summary["detection"]["honest"].at("flagged")}};
    if (scored == 0 || honest.empty()) {
      fmt::print("#   {:<28} no adversarial message in the sample\n", name);
      adversaries.push_back(entry);
      continue;
    }
    const std::vector<double> bad = with_impossible(adv);
    const double d = adv.at("rate").get<double>();
    entry["auc"] = roc_auc(honest, bad);
    json roc = json::array();
    for (const RocPoint& p : roc_curve(honest, bad, 64)) {
      roc.push_back({{"threshold", std::isfinite(p.threshold) ? json(p.threshold) : json(nullptr)},
                     {"false_positive", p.false_positive}, {"true_positive", p.true_positive}});
    }
    entry["roc"] = roc;
    const std::optional<double> share = min_detectable_share(n, p0, d, alpha, 0.99);
    entry["min_share_detected_99"] = share ? json(*share) : json(nullptr);
    entry["power_at_1_percent"] = alarm_power(n, p0, d, 0.01, alpha);
    fmt::print("#   {:<28} {:>9} {:>8.2f}% {:>7.4f} {:>15} {:>13.4f}\n", name, scored, 100 * d,
               entry["auc"].get<double>(), share ? fmt::format("{:.4g}%", 100 * *share) : std::string("never"),
               entry["power_at_1_percent"].get<double>());
    adversaries.push_back(entry);
  }
  cal["power"] = {{"alpha", alpha}, {"p0_upper", p0}, {"power_messages", n}, {"family", family},
                  {"adversaries", adversaries}};
  write_file_atomic(path, cal.dump(2) + "\n");
  // The run's summary.json carries it too (calibration.power), next to the frontier.
  const std::string summary_path = o.run_dir + "/summary.json";
  json summary = read_json_file(summary_path);
  summary["calibration"]["power"] = cal["power"];
  write_file_atomic(summary_path, summary.dump(2) + "\n");
  fmt::print("# power -> {} and {} (\"power\"); fssl plan --calibration uses the weakest adversary's rate\n", path,
             summary_path);
  std::fflush(stdout);
}

}  // namespace fssl
