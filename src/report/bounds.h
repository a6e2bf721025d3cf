// The fleet-wide statements of an audit (verification-math.md §6-§8): the token-level false-
// positive rate at the operating point with a Clopper-Pearson interval, the extractable-
// information bound with its interval and what it means for exfiltrating the weights, and upper
// bounds on the malicious share of the traffic from the flagged messages, fleet-wide and per
// stratum. Private to the audit report (report/summary.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fssl/audit_options.h"

namespace fssl {

struct BoundsInput {
  std::uint64_t tokens = 0, dangerous = 0;                   // scored output tokens, both sampler families
  std::vector<std::pair<double, std::uint64_t>> messages;    // per scored message: charged bits, tokens
  double log2_vocab = 0.0;
  double population_output_tokens = 0.0;                     // of the audited population
  bool population_tokens_estimated = false;                  // filters: sample mean x population
  double secret_bytes = 0.0;                                 // what an exfiltration would move
  struct Group {
    std::string key;                                         // "" fleet-wide
    std::uint64_t flagged = 0, sampled = 0;
    std::optional<std::uint64_t> population;                 // known for the fleet and plan strata
  };
  Group fleet;
  std::vector<Group> strata;
};

struct BoundsReport {
  nlohmann::json json;
  std::vector<std::pair<std::string, bool>> lines;  // policy lines for the human block (text, ok)
  std::vector<std::string> findings;                // policy breaches
  std::vector<std::string> statements;              // the confidence statements in plain words
};

BoundsReport audit_bounds(const AuditOptions& options, const BoundsInput& input);

}  // namespace fssl
