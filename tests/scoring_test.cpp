// FSSL scoring at TP = 1 against a naive per-token torch implementation (golden file), plus the
// log-normal-CDF tail against closed-form values.
#include <gtest/gtest.h>

#include <cmath>

#include "scoring_test_util.h"

namespace fssl {
namespace {

TEST(Scoring, MatchesNaivePerTokenImplementationAtTp1) {
  auto comm = comm_local();
  test::check_scoring_golden(*comm);
}

TEST(Scoring, IptLsMatchesNaiveLlamacppChainAtTp1) {
  auto comm = comm_local();
  test::check_ipt_golden(*comm);
}

TEST(Scoring, LogNdtrMatchesClosedFormsAndTheFarTail) {
  EXPECT_NEAR(log_ndtr(0.0), std::log(0.5), 1e-15);                 // the maximum of GM-LS, y = c
  EXPECT_NEAR(log_ndtr(-1.0), std::log(0.15865525393145707), 1e-13);
  EXPECT_NEAR(log_ndtr(-5.0), std::log(2.866515718791939e-07), 1e-11);
  // Far tail: erfc underflows; the asymptotic series must stay finite and continuous at -20.
  EXPECT_NEAR(log_ndtr(-20.0 + 1e-9), log_ndtr(-20.0 - 1e-9), 1e-6);
  EXPECT_NEAR(log_ndtr(-40.0), -804.608442013754, 1e-9);            // mpmath log(ncdf(-40)), 50 digits
  EXPECT_TRUE(std::isfinite(log_ndtr(-1e6)));
}

}  // namespace
}  // namespace fssl
