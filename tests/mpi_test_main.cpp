// main() shared by the MPI GoogleTest binaries: MPI up first, output from rank 0 only, and the
// exit status AND-reduced over ranks so a failure on any rank fails the test (the
// gtest-mpi-listener README returns 0 and hides failures).
#include <gtest/gtest.h>

#include "fssl/mpi.h"

int main(int argc, char** argv) {
  fssl::MpiEnvironment env(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    ::testing::TestEventListeners& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local = RUN_ALL_TESTS() == 0 ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  if (rank == 0 && all == 0) std::fprintf(stderr, "[mpi] a test failed on at least one rank\n");
  return all == 1 ? 0 : 1;
}
