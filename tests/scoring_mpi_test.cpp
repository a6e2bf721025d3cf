// FSSL scoring on vocabulary shards (TP = 2, 4 over MPI) equals the naive full-vocabulary
// implementation: only scalars and short candidate lists cross ranks (whole rows only for SGLang's
// sorted filters, whose ranks need them).
#include <gtest/gtest.h>

#include "fssl/gumbel_decision.h"
#include "scoring_test_util.h"
#include "sglang_sorted_golden.h"

namespace fssl {
namespace {

TEST(ScoringMpi, VocabParallelScoresMatchNaiveImplementation) {
  MpiComm world;
  auto comm = comm_mpi(world);
  test::check_scoring_golden(*comm);
}

TEST(ScoringMpi, IptLsOnShardsMatchesNaiveImplementation) {
  MpiComm world;
  auto comm = comm_mpi(world);
  test::check_ipt_golden(*comm);
}

// SGLang's sorted top-k / top-p on shards: every rank's columns get the ranks and the kept set of the
// whole row, the rank-keyed noise, and the token SGLang's algorithm sampled (sglang_sorted_golden.txt).
TEST(ScoringMpi, SglangSortedRanksAndTokensOnShardsMatchTheWholeRow) {
  MpiComm world;
  auto comm = comm_mpi(world);
  int n = 0;
  for (const test::SglangSortedCase& c : test::sglang_sorted_cases()) {
    if (c.vocab != 1000) continue;
    SCOPED_TRACE("case " + std::to_string(c.index) + " at TP " + std::to_string(comm->world_size()));
    const SamplerProfile profile = SamplerProfile::parse(c.spec);
    const SamplerParams params = profile_params(profile, c.settings);
    std::int64_t begin = 0;
    const at::Tensor full = test::sglang_case_logits(c);
    const at::Tensor logits = test::golden_shard(full, -std::numeric_limits<float>::infinity(), *comm, &begin);
    const VocabShard vocab = test::golden_vocab(logits, begin, c.vocab);
    const at::Tensor rank = sampler_sort_ranks(sampler_sort_key(logits, params), params, 5.0, *comm);
    auto local = comm_local();
    const at::Tensor whole_rank = sampler_sort_ranks(sampler_sort_key(full, params), params, 5.0, *local);
    EXPECT_TRUE(at::equal(rank.narrow(1, 0, vocab.valid), whole_rank.narrow(1, begin, vocab.valid)));
    const ProfileNoise noise = profile_noise_for_logits(profile, c.seed, c.position + 1, logits, params, vocab, 0, 5.0, *comm);
    const at::Tensor token = sample_gumbel_rows(logits, noise.noise, params, vocab, *comm, profile.server_rule(),
                                                noise.decision(params));
    EXPECT_EQ(token.item<std::int64_t>(), c.token);
    const ScoreBatch scores = score_gumbel_rows(logits, noise.noise, at::full({1}, c.token, at::kLong), params, vocab,
                                                ScoreConfig{}, *comm, profile.server_rule(), noise.decision(params));
    EXPECT_TRUE(scores.exact[0].item<bool>());
    ++n;
  }
  EXPECT_EQ(n, 112);
}

}  // namespace
}  // namespace fssl
