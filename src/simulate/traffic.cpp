// Prompts and seeds of a simulated server (simulate/traffic.h).
#include "simulate/traffic.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fssl/error.h"

namespace fssl {

TrafficSource::TrafficSource(const SimulateOptions& options, std::int64_t vocab_size)
    : options_(options), vocab_size_(vocab_size), rng_(options.seed), client_rng_(options.seed ^ 0xC11E47ull) {
  if (options.prompts_file.empty()) return;
  std::ifstream in(options.prompts_file);
  FSSL_CHECK(in.good(), ConfigError, "--prompts {}: cannot open", options.prompts_file);
  std::size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::vector<std::int32_t> prompt;
    try {
      const auto j = nlohmann::json::parse(line);
      for (const auto& id : j.at("prompt")) prompt.push_back(id.get<std::int32_t>());
    } catch (const nlohmann::json::exception& e) {
      FSSL_THROW(ConfigError, "--prompts {}:{}: expected {{\"prompt\": [token ids]}}: {}", options.prompts_file, line_no,
                 e.what());
    }
    FSSL_CHECK(!prompt.empty(), ConfigError, "--prompts {}:{}: empty prompt", options.prompts_file, line_no);
    for (std::int32_t id : prompt) {
      FSSL_CHECK(id >= 0 && id < vocab_size, ConfigError, "--prompts {}:{}: token id {} outside the vocabulary of {}",
                 options.prompts_file, line_no, id, vocab_size);
    }
    file_prompts_.push_back(std::move(prompt));
  }
  FSSL_CHECK(!file_prompts_.empty(), ConfigError, "--prompts {}: no prompts", options.prompts_file);
}

std::vector<std::int32_t> TrafficSource::next_prompt() {
  if (!file_prompts_.empty()) {
    const auto& p = file_prompts_[next_file_prompt_];
    next_file_prompt_ = (next_file_prompt_ + 1) % file_prompts_.size();
    return p;
  }
  // Log-normal lengths: chat prompts are right-skewed (a few long documents among short turns).
  std::lognormal_distribution<double> length(options_.prompt_log_mean, options_.prompt_log_sd);
  const auto n = std::clamp<std::int64_t>(std::llround(length(rng_)), 1, options_.prompt_max);
  std::uniform_int_distribution<std::int32_t> token(0, static_cast<std::int32_t>(vocab_size_ - 1));
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(n));
  for (auto& t : prompt) t = token(rng_);
  return prompt;
}

std::uint64_t TrafficSource::next_seed() {
  const std::uint64_t fresh = rng_();  // drawn either way, so prompts do not depend on the seed mode
  return options_.fixed_seed ? *options_.fixed_seed : fresh;
}

}  // namespace fssl
