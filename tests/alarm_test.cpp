// Message- and audit-level alarm control (alarm.h) against independent values: binomial tails
// summed exactly in rational arithmetic (tests/data/alarm/make_goldens.py, outputs in
// goldens.txt), the inverse-binomial table of verification-math.md §8.1, and cases derived by hand
// (Holm's step-down, the Mann-Whitney AUC, the rule of three).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "fssl/alarm.h"
#include "fssl/error.h"
#include "fssl/results.h"

namespace fssl {
namespace {

TEST(Alarm, QuantileMatchesExactBinomialTails) {
  EXPECT_EQ(alarm_quantile(200, 0.01, 0.01), 6u);
  EXPECT_EQ(alarm_quantile(200, 0.005, 0.01), 4u);
  EXPECT_EQ(alarm_quantile(1000, 0.002, 0.005), 6u);
  EXPECT_EQ(alarm_quantile(50, 0.0, 0.01), 0u);  // no honest flags: one flag alarms
  EXPECT_THROW(alarm_quantile(10, 0.01, 0.0), ConfigError);
}

TEST(Alarm, ThresholdIsTheCertifiedOrderStatistic) {
  // 1000 distinct honest values 0, 0.001, ..., 0.999; target 1 %: CP upper(4 of 1000) = 0.00913
  // certifies, CP upper(5 of 1000) = 0.01048 does not, so k* = 4 and the threshold is the 5th
  // largest value: 4 honest messages lie above it.
  std::vector<double> honest;
  for (int i = 0; i < 1000; ++i) honest.push_back(i / 1000.0);
  const MessageThreshold t = message_threshold(honest, 0.01, 0.95);
  EXPECT_TRUE(t.certified);
  EXPECT_EQ(t.order_k, 4);
  EXPECT_DOUBLE_EQ(t.threshold, 0.995);
  EXPECT_EQ(t.exceeding, 4u);
  EXPECT_NEAR(t.p0_upper, 0.00912995256387, 1e-10);
  EXPECT_DOUBLE_EQ(t.p0, 0.004);
  EXPECT_EQ(t.messages_needed, 299u);  // rule of three: 1 - 0.05^(1/299) <= 1 % < 1 - 0.05^(1/298)
}

TEST(Alarm, TooFewHonestMessagesAreSaidNotCertified) {
  // 298 messages cannot certify 1 % at 95 %; 299 can (with no exceedance at all).
  const MessageThreshold few = message_threshold(std::vector<double>(298, 0.0), 0.01, 0.95);
  EXPECT_FALSE(few.certified);
  EXPECT_EQ(few.order_k, -1);
  EXPECT_GT(few.p0_upper, 0.01);
  const MessageThreshold enough = message_threshold(std::vector<double>(300, 0.0), 0.01, 0.95);
  EXPECT_TRUE(enough.certified);
  EXPECT_NEAR(enough.p0_upper, 0.00993608194446, 1e-10);
  // Ties at the threshold: every honest value equal, none above it.
  EXPECT_EQ(enough.exceeding, 0u);
  EXPECT_DOUBLE_EQ(enough.threshold, 0.0);
}

TEST(Alarm, WeightedHolmStepsDown) {
  // Equal weights, alpha 5 %: 0.005 <= 0.05/4, 0.01 <= 0.05/3, then 0.03 > 0.05/2 stops.
  EXPECT_EQ(weighted_holm({0.01, 0.04, 0.03, 0.005}, {1, 1, 1, 1}, 0.05),
            (std::vector<bool>{true, false, false, true}));
  // The fleet with half the weight, two strata a quarter each: s1 0.008 <= 0.05 x 0.25; then the
  // fleet 0.03 <= 0.05 x 0.5 / 0.75 = 0.0333 (it would fail alone at 0.025); s2 0.3 stops.
  EXPECT_EQ(weighted_holm({0.03, 0.008, 0.3}, {0.5, 0.25, 0.25}, 0.05), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(weighted_holm({0.03, 0.02, 0.3}, {0.5, 0.25, 0.25}, 0.05), (std::vector<bool>{false, false, false}));
  EXPECT_THROW(weighted_holm({0.1}, {0.0}, 0.05), ConfigError);
}

TEST(Alarm, PowerMatchesExactBinomialTails) {
  EXPECT_NEAR(alarm_power(400, 0.005, 0.9, 0.05, 0.01), 0.999788127836, 1e-9);
  EXPECT_NEAR(alarm_power(200, 0.01, 1.0, 0.02, 0.01), 0.387162331697, 1e-9);
  EXPECT_DOUBLE_EQ(alarm_power(200, 0.01, 1.0, 0.0, 0.01), alarm_power(200, 0.01, 0.01, 1.0, 0.01));
}

TEST(Alarm, WithoutHonestFlagsSampleSizesAreTheInverseBinomial) {
  // p0 = 0, every malicious message flagged: q = 0 and the audit alarms on one catch, which is
  // verification-math.md §8.1's table (459 for p = 1 %, c = 99 %; 4603 for 0.1 %).
  EXPECT_EQ(samples_needed_alarm(0.0, 1.0, 0.01, 0.01, 0.99), 459u);
  EXPECT_EQ(samples_needed_alarm(0.0, 1.0, 0.001, 0.01, 0.99), 4603u);
  // Honest flags and a weaker detector cost samples.
  const std::uint64_t n = samples_needed_alarm(0.005, 0.9, 0.01, 0.01, 0.99);
  EXPECT_GT(n, 459u);
  EXPECT_GE(alarm_power(n, 0.005, 0.9, 0.01, 0.01), 0.99);
  EXPECT_LT(alarm_power(n - 1, 0.005, 0.9, 0.01, 0.01), 0.99);
  EXPECT_THROW(samples_needed_alarm(0.01, 0.01, 0.5, 0.01, 0.99), ConfigError);  // d = p0: indistinguishable
}

TEST(Alarm, MinDetectableShareIsWherePowerReachesTheTarget) {
  const std::optional<double> share = min_detectable_share(25000, 0.001, 0.95, 0.01, 0.99);
  ASSERT_TRUE(share);
  EXPECT_GE(alarm_power(25000, 0.001, 0.95, *share, 0.01), 0.99);
  EXPECT_LT(alarm_power(25000, 0.001, 0.95, *share - 1e-6, 0.01), 0.99);
  EXPECT_FALSE(min_detectable_share(25000, 0.01, 0.01, 0.01, 0.99));  // d <= p0
  EXPECT_FALSE(min_detectable_share(3, 0.2, 0.5, 0.01, 0.99));        // too small an audit
}

TEST(Alarm, AucAndCurveByHand) {
  // Honest {0, 0, 1}, adversarial {1, 2}: 1 beats two and ties one (2.5), 2 beats three: 5.5 / 6.
  EXPECT_NEAR(roc_auc({0, 0, 1}, {1, 2}), 5.5 / 6, 1e-15);
  EXPECT_DOUBLE_EQ(roc_auc({0, 0}, {std::numeric_limits<double>::infinity()}), 1.0);
  const std::vector<RocPoint> c = roc_curve({0, 0, 1}, {1, 2}, 16);
  ASSERT_EQ(c.size(), 4u);  // -inf, 0, 1, 2
  EXPECT_DOUBLE_EQ(c[0].false_positive, 1.0);
  EXPECT_DOUBLE_EQ(c[1].false_positive, 1.0 / 3);
  EXPECT_DOUBLE_EQ(c[1].true_positive, 1.0);
  EXPECT_DOUBLE_EQ(c[2].false_positive, 0.0);
  EXPECT_DOUBLE_EQ(c[2].true_positive, 0.5);
  EXPECT_DOUBLE_EQ(c[3].true_positive, 0.0);
  EXPECT_EQ(roc_curve({0, 1, 2, 3, 4, 5}, {6, 7, 8}, 3).size(), 3u);
}

TEST(Alarm, EvidenceSumsFiniteMarginsAndImpossibleTokensAreCounted) {
  TokenScores s;
  s.margin = {0.0f, 0.25f, 0.5f, 12.0f, std::numeric_limits<float>::infinity()};
  s.logit_rank = {0, 3, 40, 40, 0};
  s.exact.assign(5, 0);
  EXPECT_DOUBLE_EQ(message_evidence(s), 12.75);
  // Widest threshold 10, R 32: the 12-logit token at rank 40 and the infinite one.
  EXPECT_EQ(impossible_tokens(s, 10.0, 32), 2u);
  EXPECT_EQ(impossible_tokens(s, 10.0, 64), 1u);
}

}  // namespace
}  // namespace fssl
