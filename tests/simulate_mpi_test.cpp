// A tensor-parallel simulated server (all ranks one TP group, reductions in another order than the
// single-rank verifier's) writes an archive that rank 0 verifies with a TP = 1 fp32 replay.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "fssl/archive.h"
#include "fssl/model_init.h"
#include "fssl/simulate.h"
#include "fssl/stego.h"
#include "fssl/verify.h"
#include "test_util.h"

namespace fssl {
namespace {

// A small model in a temp dir rank 0 owns; every rank gets its path.
std::string shared_model_dir(MpiComm& world, std::unique_ptr<test::TempDir>* tmp) {
  std::string dir;
  if (world.rank() == 0) {
    *tmp = std::make_unique<test::TempDir>();
    ModelInitOptions o;
    o.preset = "small";
    o.seed = 8;
    model_init(o, **tmp / "model");
    dir = (*tmp)->path();
  }
  char path[4096] = {};
  std::strncpy(path, dir.c_str(), sizeof path - 1);
  FSSL_MPI_CHECK(MPI_Bcast(path, sizeof path, MPI_CHAR, 0, world.get()));
  return path;
}

// A top-k 50 server writing dir/archive from dir/model.
SimulateOptions server_options(const std::string& dir, const std::string& archive, std::uint64_t messages,
                               std::int64_t max_tokens) {
  SimulateOptions s;
  s.model_dir = dir + "/model";
  s.archive_dir = dir + "/" + archive;
  s.messages = messages;
  s.max_tokens = max_tokens;
  s.prompt_log_mean = 3.0;
  s.params.top_k = 50;
  return s;
}

TEST(SimulateMpi, TensorParallelServerTrafficVerifiesOnOneRank) {
  MpiComm world;
  std::unique_ptr<test::TempDir> tmp;
  const std::string dir = shared_model_dir(world, &tmp);
  const SimulateOptions s = server_options(dir, "archive", 8, 32);
  auto server = comm_mpi(world);
  const SimulateSummary sum = simulate(s, *server);
  EXPECT_EQ(sum.messages, 8u);  // every rank decoded every message

  if (world.rank() == 0) {
    auto local = comm_local();
    Model verifier = Model::load(s.model_dir, *local, ModelOptions{});
    ArchiveReader reader = ArchiveReader::open(s.archive_dir);
    std::int64_t tokens = 0, exact = 0, dangerous = 0;
    for (std::uint64_t row = 0; row < reader.manifest().shards[0].n_messages; ++row) {
      const MessageScores m = verify_message(verifier, reader.read({0, row}), ScoreConfig{});
      ASSERT_TRUE(verifiable(m)) << unverifiable_reason(m);
      tokens += std::get<ScoreBatch>(m).exact.numel();
      exact += std::get<ScoreBatch>(m).exact.sum().item<std::int64_t>();
      dangerous += std::get<ScoreBatch>(m).tier.eq(static_cast<int>(TokenTier::kDangerous)).sum().item<std::int64_t>();
    }
    std::printf("TP %d server, TP 1 verifier: %lld tokens, exact %.2f %%, dangerous %lld\n", world.world_size(),
                static_cast<long long>(tokens), 100.0 * static_cast<double>(exact) / static_cast<double>(tokens),
                static_cast<long long>(dangerous));
    EXPECT_EQ(tokens, static_cast<std::int64_t>(sum.output_tokens));
    EXPECT_GE(static_cast<double>(exact), 0.95 * static_cast<double>(tokens));
    EXPECT_EQ(dangerous, 0);
  }
  FSSL_MPI_CHECK(MPI_Barrier(world.get()));  // keep the directory until every rank is done
}

// The admissible-set adversary on a TP server group: its sets span every rank's vocabulary shard,
// and a receiver on the same group recovers exactly the bits the ground truth says it hid.
TEST(SimulateMpi, AdmissibleStegoRoundTripsOnATensorParallelServer) {
  MpiComm world;
  std::unique_ptr<test::TempDir> tmp;
  const std::string dir = shared_model_dir(world, &tmp);
  SimulateOptions s = server_options(dir, "stego", 4, 24);
  s.adversary = "admissible-stego";
  auto server = comm_mpi(world);
  const SimulateSummary sum = simulate(s, *server);
  EXPECT_GT(sum.embedded_bits, 0u);
  Model receiver = Model::load(s.model_dir, *server, ModelOptions{});
  std::string weights = s.model_dir + "/model.safetensors";
  const PayloadBits payload(payload_read(weights, std::size_t{1} << 24, true));
  ArchiveReader reader = ArchiveReader::open(s.archive_dir);
  std::ifstream truth(simulate_truth_path(s.archive_dir));
  std::uint64_t decoded_bits = 0;
  for (std::uint64_t row = 0; row < reader.manifest().shards[0].n_messages; ++row) {
    std::string line;
    ASSERT_TRUE(static_cast<bool>(std::getline(truth, line)));
    const nlohmann::json t = nlohmann::json::parse(line);
    const std::vector<bool> bits = admissible_stego_decode(receiver, reader.read({0, row}), s.stego_margin);
    ASSERT_EQ(bits.size(), t["bits"].get<std::size_t>());
    for (std::size_t i = 0; i < bits.size(); ++i) ASSERT_EQ(bits[i], payload.bit(t["payload_start"].get<std::uint64_t>() + i));
    decoded_bits += bits.size();
  }
  EXPECT_EQ(decoded_bits, sum.embedded_bits);
  FSSL_MPI_CHECK(MPI_Barrier(world.get()));
}

// Penalised traffic (the clients' processors drawn per message) from a TP server, verified by a
// verifier group of every TP size the run has and by one rank: each rank applies the processors to
// its own vocabulary shard, and all agree with the server and with each other.
TEST(SimulateMpi, PenalisedTrafficVerifiesAtEveryTensorParallelSize) {
  MpiComm world;
  std::unique_ptr<test::TempDir> tmp;
  const std::string dir = shared_model_dir(world, &tmp);
  SimulateOptions s = server_options(dir, "penalised", 8, 24);
  s.processors = "random";
  s.stop_tokens = {1, 2};
  s.profile = "vllm-mrv2:noise=murmur3";
  s.params.temperature = 0.8f;
  auto group = comm_mpi(world);
  const SimulateSummary sum = simulate(s, *group);
  Model tp_verifier = Model::load(s.model_dir, *group, ModelOptions{});
  auto local = comm_local();
  std::unique_ptr<Model> one_rank;
  if (world.rank() == 0) one_rank = std::make_unique<Model>(Model::load(s.model_dir, *local, ModelOptions{}));
  ArchiveReader reader = ArchiveReader::open(s.archive_dir);
  std::int64_t tokens = 0, exact_tp = 0, exact_one = 0, dangerous = 0, same_rank = 0, with_processors = 0;
  for (std::uint64_t row = 0; row < reader.manifest().shards[0].n_messages; ++row) {
    const LogRecord r = reader.read({0, row});
    with_processors += r.sampler.processors.active() ? 1 : 0;
    const MessageScores tp = verify_message(tp_verifier, r, ScoreConfig{});
    ASSERT_TRUE(verifiable(tp)) << unverifiable_reason(tp);
    const ScoreBatch& a = std::get<ScoreBatch>(tp);
    tokens += a.exact.numel();
    exact_tp += a.exact.sum().item<std::int64_t>();
    dangerous += a.tier.eq(static_cast<int>(TokenTier::kDangerous)).sum().item<std::int64_t>();
    if (one_rank) {
      const MessageScores one = verify_message(*one_rank, r, ScoreConfig{});
      ASSERT_TRUE(verifiable(one)) << unverifiable_reason(one);
      const ScoreBatch& b = std::get<ScoreBatch>(one);
      exact_one += b.exact.sum().item<std::int64_t>();
      same_rank += a.logit_rank.eq(b.logit_rank).sum().item<std::int64_t>();
    }
  }
  EXPECT_EQ(tokens, static_cast<std::int64_t>(sum.output_tokens));
  EXPECT_GE(with_processors, 3);
  EXPECT_EQ(exact_tp, tokens);
  EXPECT_EQ(dangerous, 0);
  if (world.rank() == 0) {
    EXPECT_EQ(exact_one, tokens);
    EXPECT_GE(static_cast<double>(same_rank), 0.99 * static_cast<double>(tokens));  // raw ranks; fp32 near-ties aside
  }
  FSSL_MPI_CHECK(MPI_Barrier(world.get()));
}

}  // namespace
}  // namespace fssl
