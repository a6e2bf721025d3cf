// Profile-spec strings (docs/sampler-spec.md §1): accepted forms, defaults, and every malformed
// form refused with a message naming the spec and the offending part.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "fssl/sampler_profile.h"

namespace fssl {
namespace {

TEST(SamplerProfile, ParsesEveryProfileWithDefaults) {
  const SamplerProfile v = SamplerProfile::parse("vllm-cuda:sm_count=132");
  EXPECT_EQ(v.kind, SamplerProfile::Kind::kVllmCuda);
  EXPECT_EQ(v.sm_count, 132);
  EXPECT_EQ(v.max_threads_per_sm, 2048);
  const SamplerProfile h = SamplerProfile::parse("hf-torch-cpu:batch_row=1,batch_size=4");  // any key order
  EXPECT_EQ(h.batch_size, 4);
  EXPECT_EQ(h.batch_row, 1);
  EXPECT_EQ(SamplerProfile::parse("hf-torch-cpu").batch_size, 1);
  EXPECT_TRUE(SamplerProfile::parse("fssl-philox").gumbel_max());
  EXPECT_FALSE(SamplerProfile::parse("llamacpp-dist").gumbel_max());
}

TEST(SamplerProfile, MalformedSpecsAreRefusedWithTheirReason) {
  auto refused = [](const std::string& spec, const std::string& fragment) {
    try {
      SamplerProfile::parse(spec);
      ADD_FAILURE() << spec << " accepted";
    } catch (const ProfileError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(spec), std::string::npos) << e.what();
    }
  };
  refused("vllm-cuda", "needs sm_count > 0");
  refused("vllm-cuda:sm_count=01", "not a non-negative integer");
  refused("vllm-cuda:sm_count=-4", "not a non-negative integer");
  refused("vllm-cuda:sm_count=132,sm_count=108", "given twice");
  refused("vllm-cuda:sm_count=132,warp=32", "unknown parameter 'warp'");
  refused("vllm-cuda:sm_count", "not key=value");
  refused("hf-torch-cpu:batch_size=2,batch_row=2", "batch_row < batch_size");
  refused("fssl-philox:v=2", "version 2 is unknown");
  refused("openai-magic", "unknown profile 'openai-magic'");
}

TEST(SamplerProfile, NoiseRowsArePaddedWithOnesAndSlicesAgree) {
  const SamplerProfile p = SamplerProfile::parse("fssl-philox");
  at::Tensor full = profile_noise_rows(p, 42, VocabShard::whole(100), 3, 2);
  at::Tensor slice = profile_noise_rows(p, 42, VocabShard{60, 48, 40, 100}, 3, 2);  // a TP shard with 8 padding columns
  EXPECT_TRUE(at::equal(slice.narrow(1, 0, 40), full.narrow(1, 60, 40)));
  EXPECT_TRUE(slice.narrow(1, 40, 8).eq(1.0f).all().item<bool>());
  EXPECT_TRUE(full.gt(0).all().item<bool>());
  EXPECT_THROW(profile_noise_rows(SamplerProfile::parse("llamacpp-dist"), 1, VocabShard::whole(10), 0, 1),
               ProfileError);
}

}  // namespace
}  // namespace fssl
