// Profile-spec strings (docs/sampler-spec.md §1): accepted forms, defaults, and every malformed
// form refused with a message naming the spec and the offending part.
#include "fssl/sampler_profile.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "fssl/comm.h"

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
  refused("vllm-mrv2", "noise= is required");
  refused("vllm-mrv2:noise=fp16", "noise=fp16 is unknown");
  refused("sglang:noise=murmur3,seed=1", "unknown parameter 'seed'");
}

TEST(SamplerProfile, EngineProfilesAddTheirGumbelToTheScaledLogits) {
  for (const char* spec :
       {"vllm-mrv2:noise=fp64-eps20", "vllm-mrv2:noise=fp32-log-1e-7", "vllm-mrv2:noise=fp32-log-tiny",
        "vllm-mrv2:noise=fp32-log1p", "vllm-mrv2:noise=fp64", "sglang:noise=murmur3", "sglang:noise=murmur3-capped"}) {
    const SamplerProfile p = SamplerProfile::parse(spec);
    EXPECT_TRUE(p.gumbel_max() && p.positional()) << spec;
    EXPECT_EQ(p.server_rule(), ServerRule::kScaledPlusGumbel) << spec;
  }
  EXPECT_EQ(SamplerProfile::parse("vllm-mrv2:noise=fp64").mrv2_noise, VllmMrv2Noise::kFp64Rand64);
  EXPECT_EQ(SamplerProfile::parse("sglang:noise=murmur3-capped").sglang_noise, SglangNoise::kMurmur3Capped);
}

// Row j of a positional profile is keyed by position prompt_len + j - 1; E = exp(-G) keeps pi / E ranks.
TEST(SamplerProfile, PositionalRowsFollowThePrompt) {
  const SamplerProfile p = SamplerProfile::parse("vllm-mrv2:noise=fp32-log1p");
  const ProfileNoise rows = profile_noise_rows(p, 42, 5, VocabShard{60, 48, 40, 100}, 3, 2);
  std::vector<float> want(2 * 40);
  noise_rows_vllm_mrv2(VllmMrv2Noise::kFp32Log1p, 42, 7, 2, 60, 40, want.data());
  EXPECT_TRUE(at::equal(rows.gumbel.narrow(1, 0, 40), at::from_blob(want.data(), {2, 40}, at::kFloat)));
  EXPECT_TRUE(at::allclose(rows.noise.narrow(1, 0, 40), rows.gumbel.narrow(1, 0, 40).neg().exp()));
  EXPECT_FALSE(rows.decision(SamplerParams{0.0f}).defined());  // greedy rows decide by l
  EXPECT_TRUE(rows.decision(SamplerParams{0.7f}).defined());
  EXPECT_THROW(profile_noise_rows(p, 42, 0, VocabShard::whole(10), 0, 1),
               ProfileError);  // no position without a prompt
  SamplerSettings top_k;
  top_k.top_k = 50;
  EXPECT_EQ(profile_settings_problem(p, top_k), "");
  EXPECT_NE(profile_settings_problem(SamplerProfile::parse("sglang:noise=murmur3"), top_k).find("sort rank"),
            std::string::npos);
}

// Hand-derived: l = [1, 2, 3], T = 2 so s = [0.5, 1, 1.5]; G = [1, 0.5, 0] ties s + G at 1.5 (smallest
// id wins) while l + T G = [3, 3, 3] ties too, and pi / E picks the same; G = [1, 0.75, 0] makes the
// scaled rule pick id 1 (1.75) where pi / E with E = exp(-G) agrees; top-k 1 leaves only id 2.
TEST(SamplerProfile, ScaledPlusGumbelRuleIsArgmaxOfScaledLogitPlusNoise) {
  auto comm = comm_local();
  const at::Tensor logits = at::tensor({1.0f, 2.0f, 3.0f}).unsqueeze(0);
  auto choose = [&](std::vector<float> g, SamplerParams params) {
    const at::Tensor gt = at::tensor(g).unsqueeze(0);
    return sample_gumbel_rows(logits, gt.neg().exp(), params, VocabShard::whole(3), *comm,
                              ServerRule::kScaledPlusGumbel, gt)
        .item<std::int64_t>();
  };
  EXPECT_EQ(choose({1.0f, 0.5f, 0.0f}, SamplerParams{2.0f}), 0);
  EXPECT_EQ(choose({1.0f, 0.75f, 0.0f}, SamplerParams{2.0f}), 1);
  EXPECT_EQ(choose({1.0f, 0.75f, 0.0f}, SamplerParams{2.0f, 1}), 2);
  EXPECT_EQ(choose({9.0f, 0.0f, 0.0f}, SamplerParams{0.0f}), 2);  // greedy ignores the noise
}

TEST(SamplerProfile, NoiseRowsArePaddedWithOnesAndSlicesAgree) {
  const SamplerProfile p = SamplerProfile::parse("fssl-philox");
  at::Tensor full = profile_noise_rows(p, 42, 5, VocabShard::whole(100), 3, 2).noise;
  // a TP shard with 8 padding columns
  at::Tensor slice = profile_noise_rows(p, 42, 5, VocabShard{60, 48, 40, 100}, 3, 2).noise;
  EXPECT_TRUE(at::equal(slice.narrow(1, 0, 40), full.narrow(1, 60, 40)));
  EXPECT_TRUE(slice.narrow(1, 40, 8).eq(1.0f).all().item<bool>());
  EXPECT_TRUE(full.gt(0).all().item<bool>());
  EXPECT_THROW(profile_noise_rows(SamplerProfile::parse("llamacpp-dist"), 1, 5, VocabShard::whole(10), 0, 1),
               ProfileError);
}

}  // namespace
}  // namespace fssl
