// The logits processors simulated clients set (simulate/traffic.h): what OpenAI-compatible clients,
// chat front ends and tool-calling stacks send, drawn per message.
#include <algorithm>

#include "fssl/error.h"
#include "fssl/processors.h"
#include "simulate/traffic.h"

namespace fssl {
namespace {

template <typename T>
T pick(std::mt19937_64& rng, std::initializer_list<T> values) {
  std::uniform_int_distribution<std::size_t> at(0, values.size() - 1);
  return *(values.begin() + static_cast<std::ptrdiff_t>(at(rng)));
}

// `n` distinct ids of [0, vocab), in draw order.
std::vector<std::int32_t> distinct_ids(std::mt19937_64& rng, std::int64_t vocab, std::size_t n) {
  std::uniform_int_distribution<std::int32_t> id(0, static_cast<std::int32_t>(vocab - 1));
  std::vector<std::int32_t> out;
  while (out.size() < std::min<std::size_t>(n, static_cast<std::size_t>(vocab))) {
    const std::int32_t t = id(rng);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  }
  return out;
}

}  // namespace

LogitsProcessors TrafficSource::next_processors(const SamplerProfile& profile) {
  LogitsProcessors p;
  if (options_.processors == "none") return p;
  FSSL_CHECK(options_.processors == "random", ConfigError, "simulate: --processors {}: none or random",
             options_.processors);
  std::mt19937_64& rng = client_rng_;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto coin = [&](double probability) { return unit(rng) < probability; };
  const bool plain = coin(0.3);  // drawn either way: one stream per run, whatever the profile
  // SGLang's penalizers are not replayed (processors_problem): its clients send none.
  if (plain || profile.kind == SamplerProfile::Kind::kSglang) return p;
  const ProcessorEngine engine = processor_rules(profile).engine;
  const bool llamacpp = engine == ProcessorEngine::kLlamacpp;
  if (coin(0.4)) p.repetition_penalty = pick(rng, {1.05f, 1.1f, 1.2f, 1.3f, 0.9f});
  if (engine != ProcessorEngine::kTransformers) {  // generate() has neither
    if (coin(0.35)) p.presence_penalty = pick(rng, {0.5f, 1.0f, 1.5f, -0.5f});
    if (coin(0.35)) p.frequency_penalty = pick(rng, {0.1f, 0.3f, 0.5f, 1.0f});
  }
  if (llamacpp) p.repeat_last_n = pick(rng, {64, 64, 64, -1, 0, 256});  // its server's default is 64
  if (coin(0.3)) {
    std::uniform_int_distribution<std::size_t> how_many(1, 4);
    for (std::int32_t id : distinct_ids(rng, vocab_size_, how_many(rng))) {
      p.logit_bias.emplace_back(id, pick(rng, {-100.0f, -5.0f, 2.0f, 5.0f, 8.0f}));
    }
  }
  if (llamacpp) return p;  // its server has no min_tokens, bad words or allowed ids
  if (!options_.stop_tokens.empty()) {
    p.stop_token_ids = options_.stop_tokens;
    if (coin(0.3)) {
      std::uniform_int_distribution<std::int32_t> minimum(1, static_cast<std::int32_t>(std::max<std::int64_t>(1, options_.max_tokens / 2)));
      p.min_tokens = minimum(rng);
    }
  }
  if (coin(0.2)) {
    std::uniform_int_distribution<std::size_t> words(1, 3), length(1, 2);
    for (std::size_t w = words(rng); w > 0; --w) p.bad_words.push_back(distinct_ids(rng, vocab_size_, length(rng)));
  }
  if (coin(0.08)) {
    std::uniform_int_distribution<std::size_t> how_many(32, 256);
    p.allowed_token_ids = distinct_ids(rng, vocab_size_, how_many(rng));
    for (std::int32_t id : options_.stop_tokens) {
      if (std::find(p.allowed_token_ids.begin(), p.allowed_token_ids.end(), id) == p.allowed_token_ids.end()) {
        p.allowed_token_ids.push_back(id);
      }
    }
    std::sort(p.allowed_token_ids.begin(), p.allowed_token_ids.end());
  }
  return p;
}

}  // namespace fssl
