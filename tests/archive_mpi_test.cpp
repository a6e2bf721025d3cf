// Several ranks read one archive concurrently (as audit group leaders will): each rank reads a
// strided share of all messages with batched reads, and the union equals a serial read on rank 0.
// Also the MPI wrappers: communicator split, AND-reduction, and errors turned into CommError.
#include <gtest/gtest.h>

#include <cstring>

#include "fssl/archive.h"
#include "fssl/mpi.h"
#include "test_util.h"

namespace fssl {
namespace {

// Order-independent fingerprint of a set of records: XOR of per-record digests.
Digest32 xor_digests(const std::vector<LogRecord>& records) {
  Digest32 acc{};
  for (const LogRecord& r : records) {
    const Digest32 d = record_digest(Digest32{}, r);
    for (std::size_t i = 0; i < acc.size(); ++i) acc[i] ^= d[i];
  }
  return acc;
}

TEST(ArchiveMpi, ConcurrentBatchedReadsCoverTheArchiveExactlyOnce) {
  MpiComm world;
  std::string dir;
  std::unique_ptr<test::TempDir> tmp;
  if (world.rank() == 0) {
    tmp = std::make_unique<test::TempDir>();
    test::write_test_archive(tmp->path(), 137, 20);
    dir = tmp->path();
  }
  char path[4096] = {};
  std::strncpy(path, dir.c_str(), sizeof path - 1);
  FSSL_MPI_CHECK(MPI_Bcast(path, sizeof path, MPI_CHAR, 0, world.get()));
  ArchiveReader reader = ArchiveReader::open(path);
  std::vector<MessageRef> all, mine;
  for (std::uint32_t k = 0; k < reader.manifest().shards.size(); ++k) {
    for (std::uint64_t row = 0; row < reader.manifest().shards[k].n_messages; ++row) all.push_back({k, row});
  }
  ASSERT_EQ(all.size(), 137u);
  for (std::size_t i = static_cast<std::size_t>(world.rank()); i < all.size(); i += world.world_size()) {
    mine.push_back(all[i]);
  }
  const std::vector<LogRecord> records = reader.read_batch(mine);
  Digest32 local = xor_digests(records), global{};
  FSSL_MPI_CHECK(MPI_Allreduce(local.data(), global.data(), 32, MPI_BYTE, MPI_BXOR, world.get()));
  unsigned long long count = records.size(), total = 0;
  FSSL_MPI_CHECK(MPI_Allreduce(&count, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, world.get()));
  EXPECT_EQ(total, 137u);
  if (world.rank() == 0) {
    std::vector<LogRecord> expected;
    for (std::uint64_t i = 0; i < 137; ++i) expected.push_back(test::test_record(i));
    EXPECT_EQ(hex_encode(global), hex_encode(xor_digests(expected)));
  }
  FSSL_MPI_CHECK(MPI_Barrier(world.get()));  // keep the directory until every rank is done
}

TEST(ArchiveMpi, SplitGroupsAndReductions) {
  MpiComm world;
  ASSERT_GE(world.world_size(), 2);
  MpiComm group = world.split(world.rank() % 2, world.rank());
  EXPECT_EQ(group.world_size(), (world.world_size() + 1 - world.rank() % 2) / 2);
  EXPECT_EQ(group.rank(), world.rank() / 2);
  EXPECT_TRUE(world.all_true(true));
  EXPECT_FALSE(world.all_true(world.rank() != 1));
  EXPECT_EQ(world.local_size(), world.world_size());  // one node in the tests
}

TEST(ArchiveMpi, MpiErrorsBecomeCommErrorsWithTheRoutine) {
  MpiComm world;
  int value = 0;
  try {
    FSSL_MPI_CHECK(MPI_Bcast(&value, 1, MPI_INT, world.world_size() + 5, world.get()));
    FAIL() << "invalid root accepted";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("MPI_Bcast"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("MPI_ERR_ROOT"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fssl
