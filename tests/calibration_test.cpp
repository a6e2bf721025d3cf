// The FPR vs information frontier (calibration.h) on hand-built tokens whose every operating
// point is derived by hand below.
#include <gtest/gtest.h>

#include <cmath>

#include "fssl/calibration.h"
#include "fssl/results.h"
#include "fssl/error.h"

namespace fssl {
namespace {

// One token: margin, raw logit rank, admissible-set sizes on the grid {0, 1}.
void add(TokenScores* t, float margin, std::int64_t rank, std::int64_t a0, std::int64_t a1) {
  t->exact.push_back(margin == 0.0f);
  t->tier.push_back(0);
  t->margin.push_back(margin);
  t->logit_rank.push_back(rank);
  t->gumbel_rank.push_back(rank);
  t->admissible.push_back(a0);
  t->admissible.push_back(a1);
  t->bits.push_back(0.0);
}

// Four tokens, log2 V = 8 (V = 256), grid {0, 1}, R in {1, 4}:
//   t0 margin 0,   rank 0, |A| = 1, 2     safe everywhere
//   t1 margin 0.5, rank 2, |A| = 1, 4     delta 0: R=1 dangerous, R=4 suspicious; delta 1: safe
//   t2 margin 3,   rank 9, |A| = 1, 8     dangerous everywhere
//   t3 margin 0,   rank 0, |A| = 2, 2     safe everywhere
TokenScores four_tokens() {
  TokenScores t;
  add(&t, 0.0f, 0, 1, 2);
  add(&t, 0.5f, 2, 1, 4);
  add(&t, 3.0f, 9, 1, 8);
  add(&t, 0.0f, 0, 2, 2);
  return t;
}

TEST(Calibration, EveryOperatingPointMatchesTheHandCount) {
  const TokenScores t = four_tokens();
  CalibrationOptions o;
  o.rank_cutoffs = {1, 4};
  o.max_suspicious_percent = 100;
  o.target_fpr_percent = 30;
  const Calibration c = calibrate({&t}, {0.0, 1.0}, 8.0, o);
  ASSERT_EQ(c.points.size(), 4u);
  EXPECT_EQ(c.tokens, 4u);
  // Bits: (delta 0, R 1): 0 + 8 + 8 + 1 = 17;   (0, 4): 0 + log2 5 + 8 + 1;
  //       (1, 1): 1 + 2 + 8 + 1 = 12;           (1, 4): 12. Info% = 100 bits / (4 * 8).
  const double b01 = 17.0, b04 = 9.0 + std::log2(5.0), b1 = 12.0;
  EXPECT_DOUBLE_EQ(c.points[0].fpr_percent, 50.0);
  EXPECT_DOUBLE_EQ(c.points[0].info_percent, 100.0 * b01 / 32.0);
  EXPECT_DOUBLE_EQ(c.points[1].fpr_percent, 25.0);
  EXPECT_DOUBLE_EQ(c.points[1].suspicious_percent, 25.0);
  EXPECT_DOUBLE_EQ(c.points[1].info_percent, 100.0 * b04 / 32.0);
  EXPECT_DOUBLE_EQ(c.points[2].fpr_percent, 25.0);
  EXPECT_DOUBLE_EQ(c.points[2].info_percent, 100.0 * b1 / 32.0);
  EXPECT_DOUBLE_EQ(c.points[3].info_percent, 100.0 * b1 / 32.0);
  // (0, 1) is dominated; (0, 4) has FPR 25 and 9 + 2.32 = 11.32 bits < 12: on the frontier;
  // (1, 1) has more bits at the same FPR: dominated; (1, 4) likewise.
  EXPECT_FALSE(c.points[0].on_frontier);
  EXPECT_TRUE(c.points[1].on_frontier);
  EXPECT_FALSE(c.points[2].on_frontier);
  EXPECT_FALSE(c.points[3].on_frontier);
  ASSERT_TRUE(c.chosen.has_value());
  EXPECT_EQ(c.chosen->threshold, 0.0);
  EXPECT_EQ(c.chosen->rank_cutoff, 4);
}

TEST(Calibration, SuspiciousLimitAndTargetDecideTheOperatingPoint) {
  const TokenScores t = four_tokens();
  CalibrationOptions o;
  o.rank_cutoffs = {1, 4};
  o.max_suspicious_percent = 0.5;  // drops (0, 4): 25 % suspicious
  o.target_fpr_percent = 30;
  const Calibration c = calibrate({&t}, {0.0, 1.0}, 8.0, o);
  EXPECT_FALSE(c.points[1].kept);
  // Left: (0, 1) FPR 50, (1, 1) and (1, 4) FPR 25 with 12 bits: the first of the tie is the frontier.
  EXPECT_TRUE(c.points[2].on_frontier);
  EXPECT_FALSE(c.points[3].on_frontier);
  ASSERT_TRUE(c.chosen.has_value());
  EXPECT_EQ(c.chosen->threshold, 1.0);
  EXPECT_EQ(c.chosen->rank_cutoff, 1);
  o.target_fpr_percent = 10;  // nothing reaches 10 %: t2 is always dangerous
  EXPECT_FALSE(calibrate({&t}, {0.0, 1.0}, 8.0, o).chosen.has_value());
}

TEST(Calibration, RefusesAdmissibleColumnsOfAnotherGrid) {
  const TokenScores t = four_tokens();
  EXPECT_THROW(calibrate({&t}, {0.0, 1.0, 2.0}, 8.0, CalibrationOptions{}), ConfigError);
}

}  // namespace
}  // namespace fssl
