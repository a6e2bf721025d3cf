// Profile-spec strings (docs/sampler-spec.md §1): accepted forms, defaults, and every malformed
// form refused with a message naming the spec and the offending part.
#include "fssl/sampler_profile.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "archive/format.h"
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

// The archive's list of reproducible profile names (validate warns on others) is the parser's.
TEST(SamplerProfile, ArchiveKnowsExactlyTheProfilesTheParserAccepts) {
  for (const char* name : archive_format::kKnownSamplerProfiles) {
    try {
      SamplerProfile::parse(name);
    } catch (const ProfileError& e) {
      EXPECT_EQ(std::string(e.what()).find("unknown profile"), std::string::npos) << e.what();
    }
  }
  std::string listed;
  try {
    SamplerProfile::parse("no-such-engine");
  } catch (const ProfileError& e) {
    listed = e.what();
  }
  // "... unknown profile 'no-such-engine' (fssl-philox, vllm-cuda, ...) [file:line]"
  const std::size_t open = listed.find('(');
  listed = listed.substr(open + 1, listed.find(')', open) - open - 1);
  int names = 0;
  for (std::size_t start = 0; start < listed.size(); ++names) {
    const std::size_t end = std::min(listed.find(',', start), listed.size());
    const std::string name = listed.substr(start, end - start);
    EXPECT_NE(std::find(std::begin(archive_format::kKnownSamplerProfiles), std::end(archive_format::kKnownSamplerProfiles),
                        name),
              std::end(archive_format::kKnownSamplerProfiles))
        << name;
    start = std::min(listed.find_first_not_of(", ", end), listed.size());
  }
  EXPECT_EQ(names, static_cast<int>(std::size(archive_format::kKnownSamplerProfiles)));
}

TEST(SamplerProfile, EngineProfilesAddTheirGumbelToTheScaledLogits) {
  for (const char* spec :
       {"vllm-mrv2:noise=fp64-eps20", "vllm-mrv2:noise=fp32-log-1e-7", "vllm-mrv2:noise=fp32-log-tiny",
        "vllm-mrv2:noise=fp32-log1p", "vllm-mrv2:noise=fp64", "vllm-mrv2:noise=murmur3",
        "vllm-mrv2:noise=murmur3-unfused", "vllm-mrv2:noise=murmur3-fp64", "sglang:noise=murmur3",
        "sglang:noise=murmur3-capped"}) {
    const SamplerProfile p = SamplerProfile::parse(spec);
    EXPECT_TRUE(p.gumbel_max() && p.positional()) << spec;
    EXPECT_EQ(p.server_rule(), ServerRule::kScaledPlusGumbel) << spec;
  }
  EXPECT_EQ(SamplerProfile::parse("vllm-mrv2:noise=fp64").mrv2_noise, VllmMrv2Noise::kFp64Rand64);
  EXPECT_EQ(SamplerProfile::parse("vllm-mrv2:noise=murmur3-unfused").mrv2_noise, VllmMrv2Noise::kMurmur3Unfused);
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
  const SamplerProfile sglang = SamplerProfile::parse("sglang:noise=murmur3");
  EXPECT_EQ(profile_settings_problem(sglang, top_k), "");  // its sorted path is reproduced
  SamplerSettings min_p;
  min_p.min_p = 0.05f;
  EXPECT_NE(profile_settings_problem(sglang, min_p).find("refuses min_p"), std::string::npos);
}

// Which SGLang messages go through its sort (the noise keyed by rank): those that set top-k or
// top-p and sample; SGLang's "all" top-k (2^30) is no filter; a top-k beyond V still sorts.
TEST(SamplerProfile, SglangSortsWhereTopKOrTopPIsSet) {
  const SamplerProfile sglang = SamplerProfile::parse("sglang:noise=murmur3");
  auto sorted = [&](float t, std::int32_t k, float p) {
    SamplerSettings s;
    s.temperature = t;
    s.top_k = k;
    s.top_p = p;
    return profile_params(sglang, s).sort_ranked;
  };
  EXPECT_FALSE(sorted(0.8f, 0, 1.0f));
  EXPECT_TRUE(sorted(0.8f, 50, 1.0f));
  EXPECT_TRUE(sorted(0.8f, 0, 0.95f));
  EXPECT_TRUE(sorted(0.8f, 1 << 20, 1.0f));
  EXPECT_FALSE(sorted(0.8f, 1 << 30, 1.0f));
  EXPECT_FALSE(sorted(0.0f, 50, 0.9f));  // greedy
  SamplerSettings all;
  all.top_k = 1 << 30;
  EXPECT_EQ(profile_params(sglang, all).top_k, 0);
  EXPECT_FALSE(profile_params(SamplerProfile::parse("vllm-mrv2:noise=murmur3"), all).sort_ranked);
}

// Hand-derived: l = [1, 3, 3, 2, 0], T = 1: pi = [.0530, .3918, .3918, .1441, .0195]; sorted ids
// 1, 2 (the tie: smaller id first), 3, 0, 4. SGLang's top-k 1 keeps id 1 alone (vLLM keeps the tied
// pair); top-p 0.5 keeps ranks whose mass before is <= 0.5: ids 1, 2; top-k 3 with top-p 0.8 keeps
// ids 1, 2, 3 (mass before id 3 is .7836 of the whole row), where vLLM renormalises over the top 3
// and keeps ids 1, 2 only.
TEST(SamplerProfile, SglangSortedFiltersCutByRankOnTheWholeMass) {
  auto comm = comm_local();
  const at::Tensor logits = at::tensor({1.0f, 3.0f, 3.0f, 2.0f, 0.0f}).unsqueeze(0);
  SamplerParams top_3{1.0f, 3, 1.0f, 0.0f};
  top_3.sort_ranked = true;
  EXPECT_TRUE(
      at::equal(sampler_sort_ranks(logits, top_3, 100.0, *comm), at::tensor({3, 0, 1, 2, 4}, at::kLong).unsqueeze(0)));
  auto kept = [&](std::int32_t k, float p, bool sorted) {
    SamplerParams params{1.0f, k, p, 0.0f};
    params.sort_ranked = sorted;
    const at::Tensor s = sampler_filter(logits, params, *comm).scaled[0];
    std::vector<int> ids;
    for (int i = 0; i < 5; ++i) {
      if (std::isfinite(s[i].item<float>())) ids.push_back(i);
    }
    return ids;
  };
  EXPECT_EQ(kept(1, 1.0f, true), (std::vector<int>{1}));
  EXPECT_EQ(kept(1, 1.0f, false), (std::vector<int>{1, 2}));
  EXPECT_EQ(kept(0, 0.5f, true), (std::vector<int>{1, 2}));
  EXPECT_EQ(kept(3, 0.8f, true), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(kept(3, 0.8f, false), (std::vector<int>{1, 2}));
  EXPECT_EQ(kept(7, 1.0f, true), (std::vector<int>{0, 1, 2, 3, 4}));  // k beyond V keeps everything
  // The noise of a column is its rank's: G(rank) from SGLang's hash, here at position 4.
  const SamplerProfile sglang = SamplerProfile::parse("sglang:noise=murmur3");
  SamplerParams params{1.0f, 3, 1.0f, 0.0f};
  params.sort_ranked = true;
  const ProfileNoise noise = profile_noise_for_logits(sglang, 42, 5, logits, params, VocabShard::whole(5), 0, 100.0, *comm);
  const std::uint32_t rank_of[5] = {3, 0, 1, 2, 4};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(noise.gumbel[0][i].item<float>(),
              static_cast<float>(sglang_gumbel(SglangNoise::kMurmur3, murmur3_key_hash(0, 42, 4, rank_of[i]))));
  }
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
