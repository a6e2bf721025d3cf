// The fused per-row scorer (fssl/scoring_fused.h), run by its host emulation, against the naive golden
// scores and against score_gumbel_rows on random rows: margins, admissible sets and ranks bit for
// bit given the same G, the rest to float32 rounding.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "fssl/scoring_fused.h"
#include "scoring_test_util.h"

namespace fssl {
namespace {

TEST(ScoreFused, MatchesNaivePerTokenGolden) {
  auto comm = comm_local();
  test::check_scoring_golden(*comm, [](const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                                       const SamplerParams& params, const VocabShard&, const ScoreConfig& config,
                                       Communicator&) {
    return fused::score_rows_fused_host(logits, noise, at::Tensor(), claimed, params, ServerRule::kProbOverNoise,
                                        config);
  });
}

struct Case {
  const char* name;
  SamplerParams params;
  ServerRule rule;
};

// Random rows shaped like a model's (a few dominant logits over a wide tail), claimed tokens drawn
// from the top, the tail and the filter boundary, and some the server would emit.
void expect_same_as_cpu(const Case& c, std::int64_t V, std::uint64_t seed) {
  SCOPED_TRACE(c.name);
  at::manual_seed(static_cast<std::int64_t>(seed));
  const std::int64_t n = 24;
  at::Tensor logits = at::randn({n, V}) * 2.5;
  logits.narrow(1, 0, 8).add_(6.0);
  at::Tensor noise = at::empty({n, V}).exponential_();
  at::Tensor gumbel = noise.log().neg();
  at::Tensor claimed = at::randint(0, V, {n}, at::kLong);
  for (std::int64_t r = 0; r < n; r += 3) claimed[r] = r % 8;
  for (std::int64_t r = 1; r < n; r += 6) claimed[r] = std::get<1>(logits[r].topk(60)).select(0, 59);
  ScoreConfig config;
  auto comm = comm_local();
  const at::Tensor served = sample_gumbel_rows(logits, noise, c.params, VocabShard::whole(V), *comm, c.rule, gumbel);
  for (std::int64_t r = 2; r < n; r += 4) claimed[r] = served[r];
  const ScoreBatch cpu =
      score_gumbel_rows(logits, noise, claimed, c.params, VocabShard::whole(V), config, *comm, c.rule, gumbel);
  const ScoreBatch fused = fused::score_rows_fused_host(logits, noise, gumbel, claimed, c.params, c.rule, config);
  EXPECT_TRUE(at::equal(cpu.margin, fused.margin)) << "max diff " << (cpu.margin - fused.margin).abs().max().item<float>();
  EXPECT_TRUE(at::equal(cpu.admissible, fused.admissible)) << cpu.admissible << fused.admissible;
  EXPECT_TRUE(at::equal(cpu.logit_rank, fused.logit_rank));
  EXPECT_TRUE(at::equal(cpu.gumbel_rank, fused.gumbel_rank)) << cpu.gumbel_rank << fused.gumbel_rank;
  EXPECT_TRUE(at::equal(cpu.exact, fused.exact));
  EXPECT_TRUE(at::equal(cpu.tier, fused.tier));
  EXPECT_LT((cpu.prob - fused.prob).abs().max().item<double>(), 1e-6);
  EXPECT_LT((cpu.bits - fused.bits).abs().max().item<double>(), 1e-12);
  EXPECT_GT(cpu.exact.sum().item<std::int64_t>(), 0) << "the case should contain exact tokens";
}

TEST(ScoreFused, MatchesScoreGumbelRowsOnRandomRows) {
  const SamplerParams vllm_default{1.0f, 50, 0.95f, 0.0f};
  SamplerParams hf{0.9f, 40, 0.85f, 0.2f};
  hf.min_p_last = true;
  const Case cases[] = {
      {"top_k_top_p", vllm_default, ServerRule::kProbOverNoise},
      {"no_filters", SamplerParams{1.0f, 0, 1.0f, 0.0f}, ServerRule::kProbOverNoise},
      {"top_p_only", SamplerParams{0.8f, 0, 0.9f, 0.0f}, ServerRule::kProbOverNoise},
      {"min_p", SamplerParams{1.1f, 0, 1.0f, 0.05f}, ServerRule::kProbOverNoise},
      {"hf_order", hf, ServerRule::kProbOverNoise},
      {"max_perturbed_rule", SamplerParams{0.7f, 20, 1.0f, 0.0f}, ServerRule::kMaxPerturbedLogit},
      {"greedy", SamplerParams{0.0f, 50, 0.9f, 0.0f}, ServerRule::kProbOverNoise},
  };
  for (const Case& c : cases) expect_same_as_cpu(c, 4099, 7);
}

// A flat row with top-p near 1: the boundary's bucket holds more survivors than the fused scan
// takes, so the row is handed back and scored by score_gumbel_rows.
TEST(ScoreFused, FlatTopPRowsFallBackToTheCpuPath) {
  const std::int64_t V = 6000;
  at::manual_seed(3);
  at::Tensor logits = at::randn({2, V}) * 1e-3;
  at::Tensor noise = at::empty({2, V}).exponential_();
  at::Tensor claimed = at::tensor(std::vector<std::int64_t>{5, 4000});
  const SamplerParams params{1.0f, 0, 0.99f, 0.0f};
  ScoreConfig config;
  const auto raw = fused::score_rows_fused_host_raw(
      logits, noise, at::Tensor(), claimed,
      fused::row_params(params, ServerRule::kProbOverNoise, fused::ascending_thresholds(config)));
  EXPECT_EQ(raw[0].status, fused::kRowTopPOverflow);
  auto comm = comm_local();
  const ScoreBatch cpu = score_gumbel_rows(logits, noise, claimed, params, VocabShard::whole(V), config, *comm);
  const ScoreBatch fused =
      fused::score_rows_fused_host(logits, noise, at::Tensor(), claimed, params, ServerRule::kProbOverNoise, config);
  EXPECT_TRUE(at::equal(cpu.margin, fused.margin));
  EXPECT_TRUE(at::equal(cpu.admissible, fused.admissible));
  EXPECT_TRUE(at::equal(cpu.gumbel_rank, fused.gumbel_rank));
}

TEST(ScoreFused, RowParamsRefuseTooManyThresholds) {
  ScoreConfig config;
  config.margin_grid.assign(fused::kMaxThresholds, 0.5);
  EXPECT_THROW(fused::row_params(SamplerParams{}, ServerRule::kProbOverNoise, fused::ascending_thresholds(config)),
               ConfigError);
}

}  // namespace
}  // namespace fssl
