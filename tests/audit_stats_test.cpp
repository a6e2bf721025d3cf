// Audit statistics (audit_stats.h): totals equal a direct count over the tokens, and any split of
// the messages over "groups" merged in any order gives the same words, bit for bit.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "fssl/audit_stats.h"
#include "fssl/error.h"
#include "fssl/verify.h"

namespace fssl {
namespace {

// A message of n tokens with plausible score fields (margins with exact zeros, infinities and a
// wide spread; admissible counts growing along the grid).
ScoreBatch fake_message(std::int64_t n, std::uint64_t seed, const ScoreConfig& config) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto g = static_cast<std::int64_t>(config.margin_grid.size());
  ScoreBatch s;
  s.margin = at::empty({n}, at::kFloat);
  s.exact = at::empty({n}, at::kBool);
  s.tier = at::empty({n}, at::kByte);
  s.bits = at::empty({n}, at::kDouble);
  s.admissible = at::empty({n, g}, at::kLong);
  for (std::int64_t r = 0; r < n; ++r) {
    const double u = unit(rng);
    const float m = u < 0.6 ? 0.0f : u < 0.98 ? static_cast<float>(std::pow(10.0, -4 + 6 * unit(rng))) : INFINITY;
    s.margin[r] = m;
    s.exact[r] = m == 0.0f;
    const int tier = m <= config.margin_threshold ? 0 : unit(rng) < 0.5 ? 1 : 2;
    s.tier[r] = tier;
    s.bits[r] = tier == 0 ? std::log2(1 + 9 * unit(rng)) : tier == 1 ? std::log2(33.0) : std::log2(4096.0);
    std::int64_t a = 1;
    for (std::int64_t j = 0; j < g; ++j) {
      a += static_cast<std::int64_t>(unit(rng) * 4);
      s.admissible[r][j] = a;
    }
  }
  return s;
}

TEST(AuditStats, TotalsEqualADirectCount) {
  const ScoreConfig config;
  AuditStats stats(config);
  std::int64_t tokens = 0, exact = 0, over_1 = 0, flagged = 0;
  std::array<std::int64_t, 3> tiers{};
  double charged = 0.0, allowed_last = 0.0;
  for (std::uint64_t m = 0; m < 30; ++m) {
    const ScoreBatch s = fake_message(40 + static_cast<std::int64_t>(m), m, config);
    stats.add_message(token_scores(s));
    bool any = false;
    for (std::int64_t r = 0; r < s.margin.numel(); ++r) {
      ++tokens;
      exact += s.exact[r].item<bool>() ? 1 : 0;
      over_1 += s.margin[r].item<float>() > 1.0f ? 1 : 0;
      const int t = s.tier[r].item<int>();
      ++tiers[static_cast<std::size_t>(t)];
      any = any || t != 0;
      charged += s.bits[r].item<double>();
      allowed_last += std::log2(static_cast<double>(s.admissible[r][5].item<std::int64_t>()));
    }
    flagged += any ? 1 : 0;
  }
  EXPECT_EQ(stats.messages, 30);
  EXPECT_EQ(stats.tokens, tokens);
  EXPECT_EQ(stats.exact, exact);
  EXPECT_EQ(stats.tiers, tiers);
  EXPECT_EQ(stats.flagged_messages, flagged);
  EXPECT_EQ(stats.margin_over[3], over_1);  // grid {0, 0.1, 0.5, 1, 2, 5}: t_3 = 1
  EXPECT_EQ(std::accumulate(stats.margin_histogram.begin(), stats.margin_histogram.end(), std::int64_t{0}), tokens);
  const double rounding = static_cast<double>(tokens) * 0x1p-21;  // fixed point: half a unit per token
  EXPECT_NEAR(stats.charged_bits(), charged, rounding);
  EXPECT_NEAR(stats.allowed_bits(5), allowed_last, rounding);
}

TEST(AuditStats, AnySplitAndMergeOrderGivesIdenticalWords) {
  const ScoreConfig config;
  std::vector<ScoreBatch> messages;
  for (std::uint64_t m = 0; m < 24; ++m) messages.push_back(fake_message(17 + static_cast<std::int64_t>(m % 7), 100 + m, config));
  AuditStats whole(config);
  for (const ScoreBatch& s : messages) whole.add_message(token_scores(s));
  for (int groups : {2, 3, 5}) {
    std::vector<AuditStats> parts(static_cast<std::size_t>(groups), AuditStats(config));
    std::mt19937 rng(static_cast<unsigned>(groups));
    for (const ScoreBatch& s : messages) parts[rng() % static_cast<unsigned>(groups)].add_message(token_scores(s));
    std::vector<std::size_t> order(parts.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    AuditStats merged(config);
    for (std::size_t k : order) merged.merge(AuditStats::from_words(config, parts[k].to_words()));
    EXPECT_EQ(merged.to_words(), whole.to_words()) << groups << " groups";
  }
  ScoreConfig other;
  other.margin_grid = {0.0, 1.0};
  EXPECT_THROW(whole.merge(AuditStats(other)), ConfigError);
  EXPECT_THROW(AuditStats::from_words(config, {1, 2, 3}), CommError);
}

}  // namespace
}  // namespace fssl
