// The coordinator's sampling plan (audit_plan.h): reproducible, exact n without replacement,
// uniform over messages across shards (chi-square over many seeds), Bernoulli fractions with the
// right mean, and archive-sized populations planned in memory proportional to the sample.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "fssl/audit_plan.h"
#include "fssl/error.h"

namespace fssl {
namespace {

Manifest manifest_of(const std::vector<std::uint64_t>& shard_sizes) {
  Manifest m;
  for (std::uint64_t n : shard_sizes) {
    ShardEntry e;
    e.n_messages = n;
    m.shards.push_back(e);
  }
  return m;
}

// Global index of a reference in a manifest.
std::uint64_t global_index(const Manifest& m, const MessageRef& r) {
  std::uint64_t before = 0;
  for (std::uint32_t k = 0; k < r.shard; ++k) before += m.shards[k].n_messages;
  return before + r.row;
}

TEST(AuditPlan, ExactSizeIsReproducibleSortedAndWithoutReplacement) {
  const Manifest m = manifest_of({10, 0, 15, 25});
  const AuditPlan a = audit_plan(m, {7, 12, 0.0});
  const AuditPlan b = audit_plan(m, {7, 12, 0.0});
  const AuditPlan c = audit_plan(m, {8, 12, 0.0});
  EXPECT_EQ(a.population, 50u);
  ASSERT_EQ(a.messages.size(), 12u);
  EXPECT_EQ(a.messages, b.messages);
  EXPECT_NE(a.messages, c.messages);
  EXPECT_TRUE(std::is_sorted(a.messages.begin(), a.messages.end()));
  EXPECT_EQ(std::set<MessageRef>(a.messages.begin(), a.messages.end()).size(), 12u);
  for (const MessageRef& r : a.messages) {
    EXPECT_NE(r.shard, 1u);  // the empty shard holds nothing
    EXPECT_LT(r.row, m.shards[r.shard].n_messages);
  }
  EXPECT_EQ(audit_plan(m, {7, 500, 0.0}).messages.size(), 50u);  // n >= N: everything
}

TEST(AuditPlan, ExactSizeIsUniformOverMessagesAcrossShards) {
  // 4,000 plans of 10 out of 50: each message expected 800 times. Chi-square, 49 degrees of
  // freedom: P(X > 85.35) = 0.001 under uniformity.
  const Manifest m = manifest_of({10, 15, 25});
  std::vector<double> count(50, 0.0);
  const int plans = 4000;
  for (int seed = 0; seed < plans; ++seed) {
    for (const MessageRef& r : audit_plan(m, {static_cast<std::uint64_t>(seed), 10, 0.0}).messages) {
      count[global_index(m, r)] += 1.0;
    }
  }
  const double expected = plans * 10.0 / 50.0;
  double chi2 = 0.0;
  for (double c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 85.35);
  // And every pair of positions is as likely: the first sampled index is not biased low or high.
  std::vector<double> first(50, 0.0);
  for (int seed = 0; seed < plans; ++seed) {
    first[global_index(m, audit_plan(m, {static_cast<std::uint64_t>(seed), 1, 0.0}).messages.front())] += 1.0;
  }
  double chi2_single = 0.0;
  for (double c : first) chi2_single += (c - plans / 50.0) * (c - plans / 50.0) / (plans / 50.0);
  EXPECT_LT(chi2_single, 85.35);
}

TEST(AuditPlan, FractionKeepsEachMessageWithItsProbability) {
  const Manifest m = manifest_of({300, 700});
  const double f = 0.05;
  double total = 0.0, total_sq = 0.0;
  std::vector<double> count(1000, 0.0);
  const int plans = 400;
  for (int seed = 0; seed < plans; ++seed) {
    const AuditPlan p = audit_plan(m, {static_cast<std::uint64_t>(seed), 0, f});
    const auto n = static_cast<double>(p.messages.size());
    total += n;
    total_sq += n * n;
    for (const MessageRef& r : p.messages) count[global_index(m, r)] += 1.0;
  }
  // Mean of Binomial(1000, 0.05) is 50, sd 6.9; over 400 plans the mean's sd is 0.34.
  EXPECT_NEAR(total / plans, 50.0, 1.5);
  EXPECT_NEAR(std::sqrt(total_sq / plans - (total / plans) * (total / plans)), std::sqrt(1000 * f * (1 - f)), 1.0);
  // Per-message frequency: expected 20 each; chi-square with 999 dof, P(X > 1143) = 0.0001.
  double chi2 = 0.0;
  for (double c : count) chi2 += (c - plans * f) * (c - plans * f) / (plans * f);
  EXPECT_LT(chi2, 1143.0);
  EXPECT_EQ(audit_plan(m, {1, 0, 1.0}).messages.size(), 1000u);
}

TEST(AuditPlan, BillionMessageArchivePlansInSampleSizedMemory) {
  const Manifest m = manifest_of(std::vector<std::uint64_t>(1000, 1000000));  // 10^9 messages
  const AuditPlan p = audit_plan(m, {3, 100000, 0.0});
  EXPECT_EQ(p.population, 1000000000u);
  EXPECT_EQ(p.messages.size(), 100000u);
  EXPECT_GT(p.messages.back().shard, 990u);  // spread to the end of the archive
  const AuditPlan q = audit_plan(m, {3, 0, 1e-4});
  EXPECT_NEAR(static_cast<double>(q.messages.size()), 1e5, 5 * std::sqrt(1e5));
}

TEST(AuditPlan, RefusesAmbiguousOptions) {
  const Manifest m = manifest_of({10});
  EXPECT_THROW(audit_plan(m, {1, 0, 0.0}), ConfigError);
  EXPECT_THROW(audit_plan(m, {1, 5, 0.5}), ConfigError);
  EXPECT_THROW(audit_plan(m, {1, 0, 1.5}), ConfigError);
}

}  // namespace
}  // namespace fssl
