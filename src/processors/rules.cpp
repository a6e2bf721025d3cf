// Which engine applies a profile's processors, and which logged processors an engine cannot have
// applied (fssl/processors.h; the engines' sources are cited in docs/sampler-spec.md §10).
#include "fssl/processors.h"

#include <fmt/format.h>

namespace fssl {
namespace {

bool penalties_on(const LogitsProcessors& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

// vLLM penalises the whole sequence; a logged llama.cpp window cannot be its setting.
std::string whole_sequence_problem(const char* engine, const LogitsProcessors& p) {
  if (!penalties_on(p) || p.repeat_last_n == -1) return "";
  return fmt::format("repeat_last_n {} is llama.cpp's penalty window; {} penalises the whole sequence (log -1)",
                     p.repeat_last_n, engine);
}

std::string vllm_v2_problem(const LogitsProcessors& p) {
  // The limits of Model Runner V2's _bias_kernel (vllm/v1/worker/gpu/sample/logit_bias.py): a request
  // beyond them is refused by the server, so a logged message beyond them did not come from it.
  constexpr std::size_t kMaxAllowed = 1024, kMaxBias = 1024, kMaxStop = 128;
  if (p.allowed_token_ids.size() > kMaxAllowed)
    return fmt::format("{} allowed_token_ids: vLLM's Model Runner V2 takes at most {}", p.allowed_token_ids.size(),
                       kMaxAllowed);
  if (p.logit_bias.size() > kMaxBias)
    return fmt::format("{} logit_bias entries: vLLM's Model Runner V2 takes at most {}", p.logit_bias.size(), kMaxBias);
  if (p.min_tokens > 0 && p.stop_token_ids.size() > kMaxStop)
    return fmt::format("{} stop_token_ids with min_tokens: vLLM's Model Runner V2 masks at most {}",
                       p.stop_token_ids.size(), kMaxStop);
  return whole_sequence_problem("vLLM", p);
}

std::string transformers_problem(const LogitsProcessors& p) {
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)
    return "transformers' generate() has no presence or frequency penalty: the message cannot come from it";
  return whole_sequence_problem("transformers", p);
}

std::string llamacpp_problem(const LogitsProcessors& p) {
  if (p.min_tokens > 0 && !p.stop_token_ids.empty())
    return "llama.cpp's server has no min_tokens: the message cannot come from it";
  if (!p.bad_words.empty()) return "llama.cpp's server has no bad_words (it bans tokens by logit_bias)";
  if (!p.allowed_token_ids.empty()) return "llama.cpp's server has no allowed_token_ids (grammars are not replayed)";
  if (p.repeat_last_n < -1) return fmt::format("repeat_last_n {} is below -1", p.repeat_last_n);
  return "";
}

}  // namespace

ProcessorRules processor_rules(const SamplerProfile& profile) {
  ProcessorRules rules;
  switch (profile.kind) {
    case SamplerProfile::Kind::kVllmMrv2:
      rules.engine = ProcessorEngine::kVllmV2;
      // The penalty kernel is built by the same Triton as the noise: FP fusion unless the profile
      // says the server's Triton had it off.
      rules.fused_frequency = profile.mrv2_noise != VllmMrv2Noise::kMurmur3Unfused;
      rules.min_tokens_late = profile.min_tokens_late;
      break;
    case SamplerProfile::Kind::kHfTorchCpu:
      rules.engine = ProcessorEngine::kTransformers;
      break;
    case SamplerProfile::Kind::kLlamacppDist:
      rules.engine = ProcessorEngine::kLlamacpp;
      break;
    default:  // vllm-cuda, and fssl-philox, which follows vLLM V1 (spec §2)
      rules.engine = ProcessorEngine::kVllmV1;
  }
  return rules;
}

std::string processors_problem(const SamplerProfile& profile, const LogitsProcessors& p) {
  if (!p.active()) return "";
  switch (profile.kind) {
    case SamplerProfile::Kind::kSglang:
      return "SGLang's penalizers, logit bias and min_new_tokens are not replayed (fssl replays vLLM's, "
             "transformers' and llama.cpp's processors)";
    case SamplerProfile::Kind::kVllmMrv2:
      return vllm_v2_problem(p);
    case SamplerProfile::Kind::kHfTorchCpu:
      return transformers_problem(p);
    case SamplerProfile::Kind::kLlamacppDist:
      return llamacpp_problem(p);
    default:
      return whole_sequence_problem("vLLM", p);
  }
}

}  // namespace fssl
