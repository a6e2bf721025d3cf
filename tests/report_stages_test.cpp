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

// The calibrated alarm rule (report/alarm_verdict.cpp) on a hand-made audit: server A sends 100
// clean messages, server B 20 of which 5 carry evidence 3 > the threshold 1, server C one message
// with an impossible token (margin 20 at rank 100), plus a tampered record. p0 = 1 %, alpha = 1 %;
// weights: the fleet 1/2, each of the 3 strata 1/6. By p / w: B's P[Bin(20, 0.01) >= 5] = 1.37e-6
// <= alpha / 6 = 0.00167, rejected; the fleet's P[Bin(121, 0.01) >= 6] = 0.00144 <= alpha x 0.5 /
// (5/6) = 0.006, rejected; C's P[Bin(1, 0.01) >= 1] = 0.01 > alpha x (1/6) / (2/6) = 0.005 stops.
// The tampered record and the impossible token are findings regardless.
TEST(ReportStages, CalibratedAlarmTestsFleetAndStrataByWeightedHolm) {
  AuditOptions o;
  o.alarm.gumbel_threshold = 1.0;
  o.alarm.gumbel_impossible = 10.0;
  o.alarm.p0_upper = 0.01;
  o.alarm.probability = 0.01;
  AuditOutcome out;
  out.complete = true;
  out.vocab_size = 512;
  for (std::uint64_t i = 0; i < 120; ++i) {
    MessageResult r = scored(i, {0, 0, 0, 0});
    if (i >= 100) r.server = "srv-b";
    if (i >= 100 && i < 105) r.tokens.margin = {0.0f, 1.5f, 1.5f, 0.0f};  // evidence 3
    out.results.push_back(r);
  }
  MessageResult impossible = scored(200, {0, 2, 0, 0});
  impossible.server = "srv-c";
  impossible.tokens.margin[1] = 20.0f;
  impossible.tokens.logit_rank[1] = 100;
  out.results.push_back(impossible);
  out.results.push_back(message_not_scored({0, 201}, LogRecord{}, MessageStatus::kUnverifiable, kTamperedRecordReason));
  out.planned = out.population = out.archive_messages = out.results.size();
  const AuditTally t = report_tally(o, out);
  EXPECT_EQ(t.n_tested, 121u);
  EXPECT_EQ(t.n_tested_flagged, 6u);  // the five over the threshold and the impossible one
  EXPECT_EQ(t.n_impossible, 1u);
  EXPECT_EQ(t.n_tampered, 1u);
  const Verdict v = report_judge(o, out, t);
  const nlohmann::json& a = v.alarm;
  ASSERT_TRUE(a.is_object());
  EXPECT_EQ(a["multiplicity"].get<std::string>().rfind("weighted Holm", 0), 0u);
  ASSERT_EQ(a["strata"].size(), 3u);
  for (const nlohmann::json& s : a["strata"]) {
    EXPECT_EQ(s["alarm"].get<bool>(), s["server"] == "srv-b") << s.dump();
  }
  EXPECT_TRUE(a["fleet"]["alarm"].get<bool>());
  EXPECT_NEAR(a["fleet"]["p_value"].get<double>(), 0.0014437192345720003, 1e-12);
  EXPECT_TRUE(a["alarm"].get<bool>());
  EXPECT_EQ(a["impossible_messages"], 1);
  EXPECT_EQ(a["tampered_records"], 1);
  bool tampered = false, impossible_finding = false, stratum_b = false;
  for (const std::string& f : v.findings) {
    tampered |= f.find("do not match their stored digest") != std::string::npos;
    impossible_finding |= f.find("no benign noise explains") != std::string::npos;
    stratum_b |= f.find("srv-b") != std::string::npos;
  }
  EXPECT_TRUE(tampered && impossible_finding && stratum_b);
}

}  // namespace
}  // namespace fssl
