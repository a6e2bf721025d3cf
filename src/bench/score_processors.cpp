// What logits processors add to a replay's scoring (bench/score_processors.h): the verifier's own
// steps — the raw-logit rank, the processors on the chunk in place, the noise rows, the scores — timed
// with the processors on and off over the same rows in one run.
#include "bench/score_processors.h"

#include <ATen/ATen.h>

#include <chrono>
#include <random>

#include "fssl/processors.h"
#include "fssl/sampler_profile.h"
#include "fssl/scoring.h"

namespace fssl {
namespace {

using Clock = std::chrono::steady_clock;

// What a busy client sends: every penalty, a few biases, min_tokens with two stop ids, two bad words.
LogitsProcessors busy_client(std::int64_t vocab) {
  LogitsProcessors p;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.3f;
  p.min_tokens = 16;
  p.stop_token_ids = {1, 2};
  p.logit_bias = {{3, -100.0f}, {17, 5.0f}, {static_cast<std::int32_t>(vocab - 1), 2.0f}, {1000, -5.0f}};
  p.bad_words = {{42}, {7, 8}};
  return p;
}

}  // namespace

void bench_score_processors(const ScoreBenchOptions& o, std::int64_t vocab, const at::Tensor& logits,
                            const at::Tensor& claimed, Communicator& comm) {
  const ScoreConfig config;
  SamplerSettings settings;
  settings.top_k = o.top_k;
  settings.top_p = o.top_p;
  std::mt19937_64 rng(o.seed);
  std::vector<std::int32_t> prompt(512);
  for (auto& t : prompt) t = static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(vocab));
  const std::vector<std::int32_t> output(claimed.data_ptr<std::int64_t>(), claimed.data_ptr<std::int64_t>() + claimed.numel());
  const VocabShard shard = VocabShard::whole(vocab);
  for (const char* spec : {"vllm-cuda:sm_count=132", "vllm-mrv2:noise=murmur3"}) {
    const SamplerProfile profile = SamplerProfile::parse(spec);
    const SamplerParams params = profile_params(profile, settings);
    const MessageProcessors off(processor_rules(profile), LogitsProcessors{}, prompt, output, vocab);
    const MessageProcessors on(processor_rules(profile), busy_client(vocab), prompt, output, vocab);
    double best[2] = {1e30, 1e30};
    // Off and on alternate, best of 3 each: the build machines are shared and their load drifts.
    for (int repeat = 0; repeat < 3; ++repeat) {
      for (int k = 0; k < 2; ++k) {
        const MessageProcessors& processors = k ? on : off;
        at::Tensor work = logits.clone();  // processed in place, as the verifier's fresh chunks are
        const auto start = Clock::now();
        for (std::int64_t row = 0; row < o.n_tokens; row += o.rows_per_call) {
          const std::int64_t n = std::min(o.rows_per_call, o.n_tokens - row);
          at::Tensor chunk = work.narrow(0, row, n);
          const at::Tensor y = claimed.narrow(0, row, n);
          at::Tensor raw_rank;
          if (processors.active()) {
            raw_rank = raw_logit_rank(chunk, y, shard, comm);
            processors.apply(chunk, row, shard);
          }
          const ProfileNoise noise = profile_noise_for_logits(profile, 7, static_cast<std::int64_t>(prompt.size()),
                                                              chunk, params, shard, row, score_widest_margin(config), comm);
          score_gumbel_rows(chunk, noise.noise, y, params, shard, config, comm, profile.server_rule(),
                            noise.decision(params));
        }
        best[k] = std::min(best[k], std::chrono::duration<double>(Clock::now() - start).count());
      }
    }
    const double rate[2] = {static_cast<double>(o.n_tokens) / best[0], static_cast<double>(o.n_tokens) / best[1]};
    const double overhead = rate[0] / rate[1] - 1.0;
    if (o.json) {
      fmt::print("{{\"vocab_size\": {}, \"profile\": \"{}\", \"processors\": \"busy-client\", \"tokens_per_s\": {:.1f}, "
                 "\"without_tokens_per_s\": {:.1f}, \"overhead\": {:.3f}}}\n",
                 vocab, spec, rate[1], rate[0], overhead);
    } else {
      fmt::print("  {:8} {:28} {:16.1f} {:16.1f} {:9.1f}%\n", vocab, spec, rate[0], rate[1], 100.0 * overhead);
    }
  }
}

}  // namespace fssl
