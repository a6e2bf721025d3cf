// The admissible-stego receiver (stego.h): the adversary's own decode replayed, one message alone.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "fssl/error.h"
#include "fssl/processors.h"
#include "fssl/sampler_profile.h"
#include "fssl/stego.h"
#include "simulate/decode.h"

namespace fssl {

std::vector<bool> admissible_stego_decode(Model& model, const LogRecord& record, double delta) {
  const SamplerProfile profile = SamplerProfile::parse(record.sampler.profile);
  const SamplerParams params = profile_params(profile, record.sampler);
  const VocabShard& vocab = model.vocab_shard();
  // The adversary chose among the processed logits its server sampled from.
  const MessageProcessors processors(processor_rules(profile), record.sampler.processors, record.prompt, record.output,
                                     model.config().vocab_size);
  c10::NoGradGuard no_grad;
  KvCache cache;
  at::Tensor logits = decode_prefill(model, {&record.prompt}, {&cache});
  std::vector<bool> bits;
  for (std::size_t t = 0; t < record.output.size(); ++t) {
    logits = logits.contiguous();
    processors.apply(logits, static_cast<std::int64_t>(t), vocab);
    const ProfileNoise noise =
        profile_noise_for_logits(profile, record.seed, static_cast<std::int64_t>(record.prompt.size()), logits, params,
                                 vocab, static_cast<std::int64_t>(t), delta, model.communicator());
    const auto set =
        admissible_sets(logits, noise.noise, noise.decision(params), params, vocab, delta, model.communicator())
            .front();
    const auto at = std::find(set.begin(), set.end(), static_cast<std::int64_t>(record.output[t]));
    FSSL_CHECK(at != set.end(), ReplayError, "message {}: token {} at position {} is outside its admissible set (size {})",
               record.message_id, record.output[t], t, set.size());
    const int b = static_cast<int>(std::floor(std::log2(static_cast<double>(set.size()))));
    const auto index = static_cast<std::uint64_t>(at - set.begin());
    FSSL_CHECK(index < (1ull << b), ReplayError,
               "message {}: token {} at position {} is admissible but beyond the first 2^{} of its set", record.message_id,
               record.output[t], t, b);
    for (int k = b - 1; k >= 0; --k) bits.push_back((index >> k) & 1u);
    if (t + 1 < record.output.size()) logits = decode_step(model, {record.output[t]}, {&cache});
  }
  return bits;
}

}  // namespace fssl
