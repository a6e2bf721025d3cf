// Inputs of a simulated server run (simulate/traffic.cpp): prompts and per-message sampler seeds,
// drawn reproducibly from the simulation seed. Private to simulate*.cpp.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "fssl/archive.h"
#include "fssl/sampler_profile.h"
#include "fssl/simulate.h"

namespace fssl {

class TrafficSource {
 public:
  // Reads options.prompts_file if set (ConfigError naming the file and line on bad input).
  TrafficSource(const SimulateOptions& options, std::int64_t vocab_size);
  // The prompt of message i (messages are drawn in order 0, 1, 2, ...).
  std::vector<std::int32_t> next_prompt();
  // A fresh 64-bit seed (or the fixed one).
  std::uint64_t next_seed();
  // The logits processors the client of the next message set (--processors random; all off for
  // none): drawn from a stream of their own, so prompts and seeds do not depend on them, and only
  // those `profile`'s engine has (simulate/clients.cpp).
  LogitsProcessors next_processors(const SamplerProfile& profile);

 private:
  const SimulateOptions& options_;
  std::int64_t vocab_size_;
  std::mt19937_64 rng_;
  std::mt19937_64 client_rng_;
  std::vector<std::vector<std::int32_t>> file_prompts_;
  std::size_t next_file_prompt_ = 0;
};

}  // namespace fssl
