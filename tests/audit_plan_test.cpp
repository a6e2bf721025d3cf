// The coordinator's sampling plan (audit_plan.h): reproducible, exact n without replacement,
// uniform over messages across shards (chi-square over many seeds), Bernoulli fractions with the
// right mean, and archive-sized populations planned in memory proportional to the sample; with
// filters and strata, against a brute-force scan of a real archive's records: exactly the
// matching messages, n per stratum, uniform within a stratum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "fssl/audit_plan.h"
#include "fssl/error.h"
#include "test_util.h"

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
  const AuditPlan a = audit_plan(m, test::plan_options(7, 12, 0.0));
  const AuditPlan b = audit_plan(m, test::plan_options(7, 12, 0.0));
  const AuditPlan c = audit_plan(m, test::plan_options(8, 12, 0.0));
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
  EXPECT_EQ(audit_plan(m, test::plan_options(7, 500, 0.0)).messages.size(), 50u);  // n >= N: everything
}

TEST(AuditPlan, ExactSizeIsUniformOverMessagesAcrossShards) {
  // 4,000 plans of 10 out of 50: each message expected 800 times. Chi-square, 49 degrees of
  // freedom: P(X > 85.35) = 0.001 under uniformity.
  const Manifest m = manifest_of({10, 15, 25});
  std::vector<double> count(50, 0.0);
  const int plans = 4000;
  for (int seed = 0; seed < plans; ++seed) {
    for (const MessageRef& r : audit_plan(m, test::plan_options(static_cast<std::uint64_t>(seed), 10, 0.0)).messages) {
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
    first[global_index(m, audit_plan(m, test::plan_options(static_cast<std::uint64_t>(seed), 1, 0.0)).messages.front())] += 1.0;
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
    const AuditPlan p = audit_plan(m, test::plan_options(static_cast<std::uint64_t>(seed), 0, f));
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
  EXPECT_EQ(audit_plan(m, test::plan_options(1, 0, 1.0)).messages.size(), 1000u);
}

TEST(AuditPlan, BillionMessageArchivePlansInSampleSizedMemory) {
  const Manifest m = manifest_of(std::vector<std::uint64_t>(1000, 1000000));  // 10^9 messages
  const AuditPlan p = audit_plan(m, test::plan_options(3, 100000, 0.0));
  EXPECT_EQ(p.population, 1000000000u);
  EXPECT_EQ(p.messages.size(), 100000u);
  EXPECT_GT(p.messages.back().shard, 990u);  // spread to the end of the archive
  const AuditPlan q = audit_plan(m, test::plan_options(3, 0, 1e-4));
  EXPECT_NEAR(static_cast<double>(q.messages.size()), 1e5, 5 * std::sqrt(1e5));
}

TEST(AuditPlan, RefusesAmbiguousOptions) {
  const Manifest m = manifest_of({10});
  EXPECT_THROW(audit_plan(m, test::plan_options(1, 0, 0.0)), ConfigError);
  EXPECT_THROW(audit_plan(m, test::plan_options(1, 5, 0.5)), ConfigError);
  EXPECT_THROW(audit_plan(m, test::plan_options(1, 0, 1.5)), ConfigError);
}

}  // namespace
}  // namespace fssl

// ---- Filters and strata, against a brute-force scan of every record of a real archive -------

namespace fssl {
namespace {

struct Row {
  MessageRef ref;
  LogRecord record;
};

// 240 records, 10 s apart, in shards of 40: servers srv-0..2 and two models interleave within
// every shard, so filters and strata need the shards' columns, not just the manifest.
class FilteredPlan : public ::testing::Test {
 protected:
  void SetUp() override {
    WriterOptions options;
    options.shard_messages = 40;
    ArchiveWriter w = ArchiveWriter::open(dir_.path(), options);
    for (std::uint64_t i = 0; i < 240; ++i) {
      LogRecord r = test::test_record(i);
      r.timestamp_us = kStart + static_cast<std::int64_t>(i) * 10000000;
      w.append(r);
    }
    w.close();
    manifest_ = Manifest::read(dir_.path());
    ArchiveReader reader = ArchiveReader::open(dir_.path());
    for (std::uint32_t k = 0; k < manifest_.shards.size(); ++k) {
      for (std::uint64_t row = 0; row < manifest_.shards[k].n_messages; ++row) {
        rows_.push_back({{k, row}, reader.read({k, row})});
      }
    }
  }
  std::set<MessageRef> matching(const std::function<bool(const LogRecord&)>& keep) const {
    std::set<MessageRef> out;
    for (const Row& r : rows_) {
      if (keep(r.record)) out.insert(r.ref);
    }
    return out;
  }
  const LogRecord& record(const MessageRef& ref) const {
    for (const Row& r : rows_) {
      if (r.ref == ref) return r.record;
    }
    throw std::runtime_error("no such row");
  }
  static constexpr std::int64_t kStart = 1764115200000000;  // 2025-11-26T00:00:00Z
  test::TempDir dir_;
  Manifest manifest_;
  std::vector<Row> rows_;
};

TEST_F(FilteredPlan, TimeRangeAndServersKeepExactlyTheMatchingMessages) {
  PlanOptions o;
  o.seed = 5;
  o.fraction = 1.0;
  o.time_from_us = kStart + 333 * 1000000;  // inside shard 0
  o.time_to_us = kStart + 1777 * 1000000;   // inside shard 4
  o.servers = {"srv-0", "srv-2"};
  const auto keep = [&](const LogRecord& r) {
    return r.timestamp_us >= *o.time_from_us && r.timestamp_us < *o.time_to_us && r.server != "srv-1";
  };
  const std::set<MessageRef> expected = matching(keep);
  const AuditPlan all = audit_plan(manifest_, o, dir_.path());
  EXPECT_EQ(all.population, expected.size());
  EXPECT_EQ(std::set<MessageRef>(all.messages.begin(), all.messages.end()), expected);
  o.fraction = 0.0;
  o.sample_size = 30;
  const AuditPlan some = audit_plan(manifest_, o, dir_.path());
  ASSERT_EQ(some.messages.size(), 30u);
  EXPECT_TRUE(std::is_sorted(some.messages.begin(), some.messages.end()));
  for (const MessageRef& m : some.messages) EXPECT_TRUE(expected.count(m)) << m.shard << ":" << m.row;
  EXPECT_EQ(std::set<MessageRef>(some.messages.begin(), some.messages.end()).size(), 30u);
  EXPECT_EQ(audit_plan(manifest_, o, dir_.path()).messages, some.messages);  // reproducible
}

TEST_F(FilteredPlan, EachStratumGetsItsOwnSampleOfItsOwnMessages) {
  for (Stratify by : {Stratify::kServer, Stratify::kModel, Stratify::kWindow}) {
    PlanOptions o;
    o.seed = 9;
    o.sample_size = 7;
    o.stratify = by;
    o.window_hours = 0.1;  // 6-minute windows: 36 records each, straddling the 40-record shards
    const auto key_of = [&](const LogRecord& r) {
      if (by == Stratify::kServer) return r.server;
      if (by == Stratify::kModel) return r.model.name;
      const std::int64_t w = 360000000;
      return std::to_string(r.timestamp_us / w);
    };
    std::map<std::string, std::uint64_t> sizes;
    for (const Row& r : rows_) ++sizes[key_of(r.record)];
    const AuditPlan plan = audit_plan(manifest_, o, dir_.path());
    ASSERT_EQ(plan.strata.size(), sizes.size()) << stratify_name(by);
    std::map<std::string, std::uint64_t> planned;
    for (const MessageRef& m : plan.messages) ++planned[key_of(record(m))];
    std::uint64_t total = 0;
    for (const auto& [key, n] : sizes) {
      EXPECT_EQ(planned[key], std::min<std::uint64_t>(7, n)) << stratify_name(by) << " " << key;
      total += n;
    }
    EXPECT_EQ(plan.population, total);
    for (const PlanStratum& s : plan.strata) EXPECT_EQ(s.planned, std::min<std::uint64_t>(7, s.population));
  }
}

TEST_F(FilteredPlan, StratumSamplesAreUniformOverTheirMessages) {
  // srv-1 in [100 s, 2000 s): about 63 messages spread over 5 shards, the rows looked up in each.
  PlanOptions o;
  o.sample_size = 10;
  o.servers = {"srv-1"};
  o.time_from_us = kStart + 100 * 1000000;
  o.time_to_us = kStart + 2000 * 1000000;
  const std::set<MessageRef> members = matching([&](const LogRecord& r) {
    return r.server == "srv-1" && r.timestamp_us >= *o.time_from_us && r.timestamp_us < *o.time_to_us;
  });
  std::map<MessageRef, double> count;
  const int plans = 1000;
  for (int s = 0; s < plans; ++s) {
    o.seed = 1000 + static_cast<std::uint64_t>(s);
    for (const MessageRef& m : audit_plan(manifest_, o, dir_.path()).messages) count[m] += 1;
  }
  ASSERT_EQ(count.size(), members.size());
  const double expected = plans * 10.0 / static_cast<double>(members.size());
  double chi2 = 0.0;
  for (const auto& [m, c] : count) chi2 += (c - expected) * (c - expected) / expected;
  // members.size() - 1 (= 62) degrees of freedom: P(chi2 > 105) < 0.0005.
  EXPECT_LT(chi2, 105.0) << members.size() << " members";
}

TEST_F(FilteredPlan, RefusesAnEmptyTimeRangeAndAnUnknownStratum) {
  PlanOptions o;
  o.sample_size = 3;
  o.time_from_us = kStart + 50;
  o.time_to_us = kStart + 50;
  EXPECT_THROW(audit_plan(manifest_, o, dir_.path()), ConfigError);
  EXPECT_THROW(parse_stratify("shard"), ConfigError);
}

}  // namespace
}  // namespace fssl
