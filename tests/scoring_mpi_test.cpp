// FSSL scoring on vocabulary shards (TP = 2, 4 over MPI) equals the naive full-vocabulary
// implementation: only scalars and short candidate lists cross ranks.
#include <gtest/gtest.h>

#include "scoring_test_util.h"

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

}  // namespace
}  // namespace fssl
