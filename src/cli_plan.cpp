// `fssl plan`: capacity planning from detection.h, no MPI, no archive. How many messages a day to
// verify, on how many GPUs, with what confidence, and how long weight exfiltration takes
// (docs/planning.md).
#include <cmath>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_options.h"
#include "fssl/detection.h"

namespace fssl {
namespace {

struct ExfiltrationInputs {
  double model_bytes = 1e12;            // the paper's 1 TB model
  double traffic_bytes_per_day = 1e12;  // the paper's 1 TB/day of output text
  double info_percent = 0.5;            // calibrated extractable information (verification-math.md §9)
};

void print_block(const CapacityInputs& in, const CapacityPlan& plan, const ExfiltrationInputs& ex,
                 double days_full, double days_info) {
  if (in.sampling_fraction) {
    std::printf("# fssl plan: audit a fixed fraction %g of the traffic; goal >= %llu catch(es) a day at a malicious "
                "fraction of %g\n",
                *in.sampling_fraction, static_cast<unsigned long long>(in.catches), in.malicious_fraction);
  } else {
    std::printf("# fssl plan: catch >= %llu malicious message(s) a day at a malicious fraction of %g with "
                "confidence %g\n",
                static_cast<unsigned long long>(in.catches), in.malicious_fraction, in.confidence);
  }
  std::printf("#   %-34s %14llu of %.6g messages/day (%s)\n", "samples per day",
              static_cast<unsigned long long>(plan.samples_per_day), in.messages_per_day,
              in.sampling_fraction ? "fixed fraction" : "exact inverse binomial");
  std::printf("#   %-34s %14.6g (1 in %.6g)\n", "sampling fraction f", plan.sampling_fraction,
              1.0 / plan.sampling_fraction);
  std::printf("#   %-34s %14.6g prompt + output tokens\n", "tokens to verify per day", plan.tokens_per_day);
  std::printf("#   %-34s %14.4f at %.6g tok/s each\n", "verifier GPUs (token rate)", plan.verifier_gpus,
              in.verifier_tokens_per_s);
  std::printf("#   %-34s %14.4f (f / s x %.6g inference GPUs, s = %g)\n", "verifier GPUs (ratio form)",
              plan.verifier_ratio_gpus, in.inference_gpus, in.prefill_advantage);
  std::printf("#   %-34s %14.6g per day\n", "expected catches", plan.expected_catches);
  std::printf("#   %-34s %14.8f\n", "Pr[>= k caught in a day]", plan.catch_probability);
  std::printf("# exfiltration of %.6g bytes through %.6g bytes/day of output\n", ex.model_bytes,
              ex.traffic_bytes_per_day);
  std::printf("#   %-34s %14.6g days\n", "at 100 % of the raw capacity", days_full);
  std::printf("#   %-34s %14.6g days\n", ("at " + fmt::format("{:g}", ex.info_percent) + " % (verified)").c_str(),
              days_info);
  std::printf("#   %-34s %14.6g x\n", "slowdown", days_info / days_full);
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
                   "fssl plan --messages-per-day M --prompt-tokens P --output-tokens O --inference-gpus G "
                   "--verifier-tok-s R [--confidence C --malicious-fraction p --catches k] [--json]"};
  po::options_description o("Options");
  CapacityInputs in;
  ExfiltrationInputs ex;
  double sampling_fraction = 0.0;
  bool json = false;
  o.add_options()
      ("messages-per-day", po::value<double>(&in.messages_per_day)->required(), "messages the fleet serves per day")
      ("prompt-tokens", po::value<double>(&in.prompt_tokens)->required(), "mean prompt tokens per message")
      ("output-tokens", po::value<double>(&in.output_tokens)->required(), "mean output tokens per message")
      ("inference-gpus", po::value<double>(&in.inference_gpus)->required(), "inference GPUs in the fleet")
      ("verifier-tok-s", po::value<double>(&in.verifier_tokens_per_s)->required(),
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
