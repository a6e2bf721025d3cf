// The audit report's stages (src/report/stages.h) one by one, on a hand-made outcome whose counts
// and policy lines are derived by hand: one flagged scored message, one clean one, one
// unverifiable, one quarantined.
#include <gtest/gtest.h>

#include "report/stages.h"

namespace fssl {
namespace {

MessageResult scored(std::uint64_t id, std::vector<std::uint8_t> tiers) {
  MessageResult r;
  r.ref = {0, id};
  r.message_id = id;
  r.server = "srv-a";
  r.model = "tiny";
  r.profile = "fssl-philox";
  for (std::uint8_t t : tiers) {
    r.tokens.exact.push_back(t == 0 ? 1 : 0);
    r.tokens.tier.push_back(t);
    r.tokens.margin.push_back(t == 0 ? 0.0f : 3.0f);
    r.tokens.logit_rank.push_back(0);
    r.tokens.gumbel_rank.push_back(t == 0 ? 0 : 100);
    r.tokens.bits.push_back(t == 2 ? 9.0 : 0.0);
    for (std::size_t j = 0; j < ScoreConfig{}.margin_grid.size(); ++j) r.tokens.admissible.push_back(1);
  }
  return r;
}

AuditOutcome outcome() {
  AuditOutcome out;
  out.complete = true;
  out.planned = out.population = out.archive_messages = 4;
  out.vocab_size = 512;
  out.results.push_back(scored(1, {0, 2, 0, 0}));  // one dangerous token: flagged (policy: >= 1)
  out.results.push_back(scored(2, {0, 0, 0, 0}));
  out.results.push_back(message_not_scored({0, 3}, LogRecord{}, MessageStatus::kUnverifiable, "bad profile"));
  out.results.push_back(message_not_scored({1, 0}, LogRecord{}, MessageStatus::kQuarantined, "shard unreadable"));
  return out;
}

TEST(ReportStages, TallyCountsEachOutcomeOnce) {
  const AuditTally t = report_tally(AuditOptions{}, outcome());
  EXPECT_EQ(t.n_scored, 2u);
  EXPECT_EQ(t.n_flagged, 1u);
  EXPECT_EQ(t.n_unverifiable, 1u);
  EXPECT_EQ(t.n_quarantined, 1u);
  EXPECT_EQ(t.gumbel.tokens, 8);
  EXPECT_EQ(t.gumbel.exact, 7);
  EXPECT_EQ(t.gumbel.tiers[2], 1);
  ASSERT_EQ(t.flags.size(), 4u);
  EXPECT_FALSE(t.flags[0].empty());
  EXPECT_TRUE(t.flags[1].empty());
  // The quarantined message has no stratum; the unverifiable one (its record unread: no model, no
  // server) has its own.
  ASSERT_EQ(t.strata.size(), 2u);
  EXPECT_EQ(t.strata.at(StratumKey{"tiny", "srv-a", 0}).messages, 2);
  EXPECT_EQ(t.strata.at(StratumKey{"tiny", "srv-a", 0}).flagged, 1);
  EXPECT_EQ(t.strata.at(StratumKey{"", "", 0}).unverifiable, 1);
  ASSERT_EQ(t.quarantined.size(), 1u);
  EXPECT_EQ(t.quarantined.at(1).second, 1);
}

TEST(ReportStages, JudgeNamesEveryBreachedCountLine) {
  AuditOptions options;  // max 0 flagged, <= 5 % unverifiable, quarantine is a finding
  const AuditOutcome out = outcome();
  const Verdict v = report_judge(options, out, report_tally(options, out));
  ASSERT_EQ(v.lines.size(), 4u);
  EXPECT_FALSE(v.lines[0].second);  // 1 flagged > 0
  EXPECT_TRUE(v.lines[1].second);   // flagged share 50 % <= 100 %
  EXPECT_FALSE(v.lines[2].second);  // 2 of 4 not verifiable: 50 % > 5 %
  EXPECT_FALSE(v.lines[3].second);  // one shard quarantined
  ASSERT_EQ(v.findings.size(), 3u);
  EXPECT_EQ(v.findings[0], "1 flagged message(s), policy allows 0");
  EXPECT_EQ(v.findings[1], "50.00% of the sample unverifiable");
  EXPECT_EQ(v.findings[2], "1 shard(s) quarantined");
  options.policy.max_flagged_messages = 1;
  options.policy.max_unverifiable_fraction = 0.5;
  options.policy.quarantine_is_finding = false;
  EXPECT_TRUE(report_judge(options, out, report_tally(options, out)).findings.empty());
}

TEST(ReportStages, SummaryEchoesTheOptionsAndTotals) {
  AuditOptions options;
  options.archive_dir = "ARCHIVE";
  const AuditOutcome out = outcome();
  const AuditTally t = report_tally(options, out);
  const Verdict v = report_judge(options, out, t);
  const nlohmann::json s = report_summary(options, out, t, v, report_bounds(options, out, t), kExitFindings);
  EXPECT_EQ(s["config"], to_json(options));
  EXPECT_EQ(s["config"]["archive"], "ARCHIVE");
  EXPECT_EQ(s["totals"]["scored"], 2);
  EXPECT_EQ(s["totals"]["flagged"], 1);
  EXPECT_EQ(s["exit_code"], kExitFindings);
  EXPECT_EQ(s["verdict"]["within_policy"], false);
  EXPECT_EQ(s["flagged_messages"].size(), 1u);
  EXPECT_EQ(s["quarantined_shards"][0]["sampled_messages"], 1);
}

}  // namespace
}  // namespace fssl
