// `fssl plan`: capacity planning from detection.h, no MPI, no archive. How many messages a day to
// verify, on how many GPUs, with what confidence, and how long weight exfiltration takes
// (docs/planning.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/options.h"
#include "fssl/alarm.h"
#include "fssl/detection.h"
#include "fssl/error.h"
#include "fssl/report.h"

namespace fssl {
namespace {

// calibration.json of `fssl calibrate` (docs/audit.md): the honest flag rate's bound, the weakest
// adversary's detection rate (1 when no power was measured: said on stdout), the information %.
struct CalibrationFacts {
  CalibratedAlarm alarm;
  std::string adversary;  // "" when no power was measured
  std::optional<double> info_percent;
};

CalibrationFacts read_calibration(const std::string& path, double alpha) {
  const nlohmann::json c = read_json_file(path);
  AlarmConfig a;
  calibration_alarm(c, path, &a);
  FSSL_CHECK(a.calibrated(), ConfigError, "--calibration {}: no message threshold (a calibration of fssl before the alarm "
             "rule, or one without an operating point): recalibrate", path);
  CalibrationFacts f;
  f.alarm = {a.p0_upper, a.detection.value_or(1.0), alpha};
  f.adversary = a.detection_adversary;
  for (const char* family : {"gumbel_max", "inverse_cdf"}) {
    if (c.contains(family) && c[family].contains("info_percent")) {
      f.info_percent = c[family]["info_percent"].get<double>();
      break;
    }
  }
  return f;
}

void print_calibration(const CalibrationFacts& f, const std::string& path) {
  fmt::print("# calibrated ({}): honest messages flagged at <= {:.4g}%, alarm probability {:g}%; malicious messages "
             "flagged at {:.4g}% ({})\n",
             path, 100 * f.alarm.p0, 100 * f.alarm.alpha, 100 * f.alarm.detection,
             f.adversary.empty() ? "no power measured: assumed every one (fssl calibrate --adversarial measures it)"
                                 : "the weakest adversary, " + f.adversary);
}

struct ExfiltrationInputs {
  double model_bytes = 1e12;            // the paper's 1 TB model
  double traffic_bytes_per_day = 1e12;  // the paper's 1 TB/day of output text
  double info_percent = 0.5;            // calibrated extractable information (verification-math.md §9)
};

void print_block(const CapacityInputs& in, const CapacityPlan& plan, const ExfiltrationInputs& ex,
                 double days_full, double days_info) {
  if (in.sampling_fraction) {
    fmt::print("# fssl plan: audit a fixed fraction {:g} of the traffic; goal >= {} catch(es) a day at a malicious "
               "fraction of {:g}\n",
               *in.sampling_fraction, in.catches, in.malicious_fraction);
  } else {
    fmt::print("# fssl plan: catch >= {} malicious message(s) a day at a malicious fraction of {:g} with "
               "confidence {:g}\n",
               in.catches, in.malicious_fraction, in.confidence);
  }
  fmt::print("#   {:<34} {:>14} of {:.6g} messages/day ({})\n", "samples per day", plan.samples_per_day,
             in.messages_per_day, in.sampling_fraction ? "fixed fraction" : "exact inverse binomial");
  fmt::print("#   {:<34} {:>14.6g} (1 in {:.6g})\n", "sampling fraction f", plan.sampling_fraction,
             1.0 / plan.sampling_fraction);
  fmt::print("#   {:<34} {:>14.6g} prompt + output tokens\n", "tokens to verify per day", plan.tokens_per_day);
  fmt::print("#   {:<34} {:>14.4f} at {:.6g} tok/s each\n", "verifier GPUs (token rate)", plan.verifier_gpus,
             in.verifier_tokens_per_s);
  fmt::print("#   {:<34} {:>14.4f} (f / s x {:.6g} inference GPUs, s = {:g})\n", "verifier GPUs (ratio form)",
             plan.verifier_ratio_gpus, in.inference_gpus, in.prefill_advantage);
  fmt::print("#   {:<34} {:>14.6g} per day\n", "expected catches", plan.expected_catches);
  fmt::print("#   {:<34} {:>14.8f}\n", in.alarm ? "Pr[the day's audit alarms]" : "Pr[>= k caught in a day]",
             plan.catch_probability);
  fmt::print("# exfiltration of {:.6g} bytes through {:.6g} bytes/day of output\n", ex.model_bytes,
             ex.traffic_bytes_per_day);
  fmt::print("#   {:<34} {:>14.6g} days\n", "at 100 % of the raw capacity", days_full);
  fmt::print("#   {:<34} {:>14.6g} days\n", fmt::format("at {:g} % (verified)", ex.info_percent), days_info);
  fmt::print("#   {:<34} {:>14.6g} x\n", "slowdown", days_info / days_full);
}

// The pure sampling question, without a fleet: how many messages must an audit sample to catch
// >= k malicious ones at share p with confidence c. The number alone on the last line, for scripts.
int print_sample_size(const CapacityInputs& in, bool json) {
  const std::uint64_t n = in.alarm ? samples_needed_alarm(in.alarm->p0, in.alarm->detection, in.malicious_fraction,
                                                          in.alarm->alpha, in.confidence)
                                   : samples_needed(in.malicious_fraction, in.confidence, in.catches);
  if (json) {
    const nlohmann::json j = {
        {"inputs", {{"confidence", in.confidence}, {"malicious_fraction", in.malicious_fraction}, {"catches", in.catches}}},
        {"samples_needed", n}};
    std::cout << j.dump(2) << "\n";
  } else {
    if (in.alarm) {
      fmt::print("# fssl plan: sample {} messages for the audit to alarm with probability >= {:g} at a malicious "
                 "fraction of {:g} (calibrated alarm rule; add the fleet options for GPUs and timelines)\n{}\n",
                 n, in.confidence, in.malicious_fraction, n);
    } else {
      fmt::print("# fssl plan: sample {} messages to catch >= {} malicious message(s) at a malicious fraction of {:g} "
                 "with confidence {:g} (exact inverse binomial; add the fleet options for GPUs and timelines)\n{}\n",
                 n, in.catches, in.malicious_fraction, in.confidence, n);
    }
  }
  return kExitOk;
}

nlohmann::json plan_json(const CapacityInputs& in, const CapacityPlan& plan, const ExfiltrationInputs& ex,
                         double days_full, double days_info) {
  nlohmann::json inputs = {
      {"messages_per_day", in.messages_per_day},
      {"prompt_tokens", in.prompt_tokens},
      {"output_tokens", in.output_tokens},
      {"inference_gpus", in.inference_gpus},
      {"verifier_tokens_per_s", in.verifier_tokens_per_s},
      {"confidence", in.confidence},
      {"malicious_fraction", in.malicious_fraction},
      {"catches", in.catches},
      {"prefill_advantage", in.prefill_advantage},
      {"sampling_fraction", in.sampling_fraction ? nlohmann::json(*in.sampling_fraction) : nlohmann::json()},
      {"alarm", in.alarm ? nlohmann::json{{"p0", in.alarm->p0}, {"detection", in.alarm->detection},
                                          {"alpha", in.alarm->alpha}}
                         : nlohmann::json()},
      {"model_bytes", ex.model_bytes},
      {"traffic_bytes_per_day", ex.traffic_bytes_per_day},
      {"info_percent", ex.info_percent},
  };
  return {
      {"inputs", inputs},
      {"samples_per_day", plan.samples_per_day},
      {"sampling_fraction", plan.sampling_fraction},
      {"tokens_per_day", plan.tokens_per_day},
      {"verifier_gpus", plan.verifier_gpus},
      {"verifier_ratio_gpus", plan.verifier_ratio_gpus},
      {"expected_catches", plan.expected_catches},
      {"catch_probability", plan.catch_probability},
      {"exfiltration",
       {{"days_full_capacity", days_full}, {"days_at_info_percent", days_info}, {"slowdown", days_info / days_full}}},
  };
}

}  // namespace

int cli_plan(const std::vector<std::string>& args) {
  CommandSpec spec{"plan", "",
                   "fssl plan [--confidence C --malicious-fraction p --catches k] [--messages-per-day M "
                   "--prompt-tokens P --output-tokens O --inference-gpus G --verifier-tok-s R] [--json]\n"
                   "Without the fleet options it answers the sample size alone."};
  po::options_description o("Options");
  CapacityInputs in;
  ExfiltrationInputs ex;
  double sampling_fraction = 0.0;
  bool json = false;
  std::string calibration;
  double alpha = 0.01;
  o.add_options()
      ("calibration", po::value<std::string>(&calibration),
       "calibration.json of fssl calibrate: plan with its honest flag rate and measured detection rate "
       "(the audit alarms with probability >= c) instead of assuming every malicious message is caught")
      ("alarm-probability", po::value<double>(&alpha)->default_value(alpha), "with --calibration: the audits' alpha")
      ("messages-per-day", po::value<double>(&in.messages_per_day), "messages the fleet serves per day")
      ("prompt-tokens", po::value<double>(&in.prompt_tokens), "mean prompt tokens per message")
      ("output-tokens", po::value<double>(&in.output_tokens), "mean output tokens per message")
      ("inference-gpus", po::value<double>(&in.inference_gpus), "inference GPUs in the fleet")
      ("verifier-tok-s", po::value<double>(&in.verifier_tokens_per_s),
       "verified (prompt + output) tokens/s per verifier GPU, as fssl bench prefill/score measures")
      ("confidence", po::value<double>(&in.confidence)->default_value(in.confidence, "0.99"), "confidence c in (0, 1)")
      ("malicious-fraction", po::value<double>(&in.malicious_fraction)->default_value(in.malicious_fraction),
       "smallest fraction p of malicious messages to detect")
      ("catches", po::value<std::uint64_t>(&in.catches)->default_value(in.catches),
       "k: malicious messages to catch at least, per day")
      ("prefill-advantage", po::value<double>(&in.prefill_advantage)->default_value(in.prefill_advantage),
       "s: generation cost / verification cost per message (3-10)")
      ("sampling-fraction", po::value<double>(&sampling_fraction),
       "fix the audited fraction f instead of deriving it from p, c and k")
      ("model-bytes", po::value<double>(&ex.model_bytes)->default_value(ex.model_bytes, "1e12"), "bytes to exfiltrate")
      ("traffic-bytes-per-day", po::value<double>(&ex.traffic_bytes_per_day)->default_value(ex.traffic_bytes_per_day, "1e12"),
       "output bytes the fleet emits per day")
      ("info-percent", po::value<double>(&ex.info_percent)->default_value(ex.info_percent),
       "extractable information left by verification, % of the raw capacity (calibrated)")
      ("json", po::bool_switch(&json), "print the plan as one JSON object instead of the # block");
  po::variables_map vm;
  if (!cli_parse(spec, args, o, {}, &vm)) return kExitOk;
  if (vm.count("sampling-fraction") > 0) in.sampling_fraction = sampling_fraction;
  if (!calibration.empty()) {
    const CalibrationFacts facts = read_calibration(calibration, alpha);
    in.alarm = facts.alarm;
    if (vm["info-percent"].defaulted() && facts.info_percent && *facts.info_percent > 0) ex.info_percent = *facts.info_percent;
    if (!json) print_calibration(facts, calibration);
  }
  // The fleet options come all together or not at all.
  std::vector<std::string> given, missing;
  for (const char* name : {"messages-per-day", "prompt-tokens", "output-tokens", "inference-gpus", "verifier-tok-s"}) {
    (vm.count(name) > 0 ? given : missing).push_back(std::string("--") + name);
  }
  if (given.empty()) {
    FSSL_CHECK(!in.sampling_fraction, ConfigError,
               "--sampling-fraction fixes the audited share of a fleet's traffic: it needs the fleet options "
               "(--messages-per-day, --prompt-tokens, --output-tokens, --inference-gpus, --verifier-tok-s)");
    return print_sample_size(in, json);
  }
  FSSL_CHECK(missing.empty(), ConfigError, "fssl plan: the fleet options go together; given {}, missing {}",
             fmt::join(given, " "), fmt::join(missing, " "));
  FSSL_CHECK(ex.info_percent > 0.0 && ex.info_percent <= 100.0, ConfigError,
             "--info-percent {} must lie in (0, 100]", ex.info_percent);

  const CapacityPlan plan = capacity_plan(in);
  const double days_full = exfiltration_days(ex.model_bytes, ex.traffic_bytes_per_day, 1.0);
  const double days_info = exfiltration_days(ex.model_bytes, ex.traffic_bytes_per_day, ex.info_percent / 100.0);
  if (json) {
    std::cout << plan_json(in, plan, ex, days_full, days_info).dump(2) << "\n";
  } else {
    print_block(in, plan, ex, days_full, days_info);
  }
  return kExitOk;
}

}  // namespace fssl
