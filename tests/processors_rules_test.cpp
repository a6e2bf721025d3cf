// Which engine applies a profile's processors, and which logged processors a server cannot have
// applied: those become an unverifiable message with a reason, never a false alarm.
#include <gtest/gtest.h>

#include "fssl/processors.h"
#include "fssl/sampler_profile.h"

namespace fssl {
namespace {

std::string problem(const std::string& spec, const LogitsProcessors& p) {
  return processors_problem(SamplerProfile::parse(spec), p);
}

TEST(ProcessorRules, EachProfileHasItsEnginesOrder) {
  EXPECT_EQ(processor_rules(SamplerProfile::parse("vllm-cuda:sm_count=132")).engine, ProcessorEngine::kVllmV1);
  EXPECT_EQ(processor_rules(SamplerProfile::parse("fssl-philox")).engine, ProcessorEngine::kVllmV1);
  EXPECT_EQ(processor_rules(SamplerProfile::parse("hf-torch-cpu")).engine, ProcessorEngine::kTransformers);
  EXPECT_EQ(processor_rules(SamplerProfile::parse("llamacpp-dist")).engine, ProcessorEngine::kLlamacpp);
  const ProcessorRules v2 = processor_rules(SamplerProfile::parse("vllm-mrv2:noise=murmur3"));
  EXPECT_EQ(v2.engine, ProcessorEngine::kVllmV2);
  EXPECT_TRUE(v2.fused_frequency);
  EXPECT_FALSE(v2.min_tokens_late);
  EXPECT_FALSE(processor_rules(SamplerProfile::parse("vllm-mrv2:noise=murmur3-unfused")).fused_frequency);
  EXPECT_TRUE(processor_rules(SamplerProfile::parse("vllm-mrv2:noise=fp32-log1p,min_tokens=late")).min_tokens_late);
  EXPECT_FALSE(
      processor_rules(SamplerProfile::parse("vllm-mrv2:noise=fp32-log1p,min_tokens=on-time")).min_tokens_late);
  EXPECT_THROW(SamplerProfile::parse("vllm-mrv2:noise=fp32-log1p,min_tokens=early"), ProfileError);
  EXPECT_THROW(SamplerProfile::parse("vllm-cuda:sm_count=132,min_tokens=late"), ProfileError);
}

TEST(ProcessorRules, ProcessorsAnEngineDoesNotHaveAreProblemsNamingIt) {
  LogitsProcessors none;
  for (const char* spec : {"fssl-philox", "hf-torch-cpu", "llamacpp-dist", "sglang:noise=murmur3"}) {
    EXPECT_EQ(problem(spec, none), "") << spec;
  }
  LogitsProcessors presence;
  presence.presence_penalty = 0.5f;
  EXPECT_EQ(problem("vllm-mrv2:noise=murmur3", presence), "");
  EXPECT_NE(problem("hf-torch-cpu", presence).find("no presence or frequency penalty"), std::string::npos);
  EXPECT_NE(problem("sglang:noise=murmur3", presence).find("SGLang"), std::string::npos);
  LogitsProcessors window = presence;
  window.repeat_last_n = 64;
  EXPECT_EQ(problem("llamacpp-dist", window), "");
  EXPECT_NE(problem("vllm-cuda:sm_count=132", window).find("repeat_last_n 64"), std::string::npos);
  LogitsProcessors min_tokens;
  min_tokens.min_tokens = 3;
  min_tokens.stop_token_ids = {2};
  EXPECT_EQ(problem("hf-torch-cpu", min_tokens), "");
  EXPECT_NE(problem("llamacpp-dist", min_tokens).find("no min_tokens"), std::string::npos);
  LogitsProcessors bad;
  bad.bad_words = {{5}};
  EXPECT_NE(problem("llamacpp-dist", bad).find("bad_words"), std::string::npos);
  LogitsProcessors allowed;
  allowed.allowed_token_ids.resize(1025);
  EXPECT_EQ(problem("vllm-cuda:sm_count=132", allowed), "");
  EXPECT_NE(problem("vllm-mrv2:noise=murmur3", allowed).find("at most 1024"), std::string::npos);
  EXPECT_NE(problem("llamacpp-dist", allowed).find("allowed_token_ids"), std::string::npos);
  // Stop ids without min_tokens change no logit: nothing to replay, nothing refused.
  LogitsProcessors stops;
  stops.stop_token_ids = {2, 3};
  EXPECT_EQ(problem("llamacpp-dist", stops), "");
}

}  // namespace
}  // namespace fssl
