// The simulated server (simulate.h) against the verifier (verify.h), library level: honest traffic
// written to a real archive, read back and scored message by message with an fp32 prefill replay.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdio>

#include "fssl/archive.h"
#include "fssl/model_init.h"
#include "fssl/simulate.h"
#include "fssl/verify.h"
#include "test_util.h"

namespace fssl {
namespace {

struct Rates {
  std::int64_t messages = 0, unverifiable = 0, tokens = 0, exact = 0, dangerous = 0, safe = 0;
  double exact_rate() const { return tokens ? static_cast<double>(exact) / static_cast<double>(tokens) : 0.0; }
};

class Simulate : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelInitOptions o;
    o.preset = "small";  // V 4096: rank and tier statistics that mean something
    o.seed = 5;
    model_init(o, dir_ / "model");
    comm_ = comm_local();
    verifier_ = std::make_unique<Model>(Model::load(dir_ / "model", *comm_, ModelOptions{}));
  }

  SimulateOptions options(const std::string& archive) {
    SimulateOptions s;
    s.model_dir = dir_ / "model";
    s.archive_dir = dir_ / archive;
    s.messages = 12;
    s.max_tokens = 40;
    s.prompt_log_mean = 3.0;
    s.params.top_k = 50;
    s.params.top_p = 0.95f;
    return s;
  }

  Rates score(const std::string& archive) {
    ArchiveReader reader = ArchiveReader::open(dir_ / archive);
    Rates r;
    for (std::uint32_t k = 0; k < reader.manifest().shards.size(); ++k) {
      for (std::uint64_t row = 0; row < reader.manifest().shards[k].n_messages; ++row) {
        const LogRecord record = reader.read({k, row});
        const MessageScores s = verify_message(*verifier_, record, ScoreConfig{});
        ++r.messages;
        if (!s.verifiable) {
          ++r.unverifiable;
          ADD_FAILURE() << "message " << record.message_id << " unverifiable: " << s.unverifiable_reason;
          continue;
        }
        r.tokens += s.scores.exact.numel();
        r.exact += s.scores.exact.sum().item<std::int64_t>();
        r.safe += s.scores.tier.eq(static_cast<int>(TokenTier::kSafe)).sum().item<std::int64_t>();
        r.dangerous += s.scores.tier.eq(static_cast<int>(TokenTier::kDangerous)).sum().item<std::int64_t>();
      }
    }
    std::printf("%s: %lld messages, %lld tokens, exact %.2f %%, safe %lld, dangerous %lld\n", archive.c_str(),
                static_cast<long long>(r.messages), static_cast<long long>(r.tokens), 100.0 * r.exact_rate(),
                static_cast<long long>(r.safe), static_cast<long long>(r.dangerous));
    return r;
  }

  test::TempDir dir_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Model> verifier_;
};

TEST_F(Simulate, HonestTrafficValidatesAndMatchesTheReplay) {
  const SimulateSummary sum = simulate(options("honest"), *comm_);
  EXPECT_EQ(sum.messages, 12u);
  const ValidationReport report = archive_validate(dir_ / "honest", nullptr);
  EXPECT_TRUE(report.ok()) << report.problems.size() << " problems";
  const Rates r = score("honest");
  EXPECT_EQ(r.messages, 12);
  EXPECT_EQ(r.tokens, static_cast<std::int64_t>(sum.output_tokens));
  EXPECT_GE(r.exact_rate(), 0.95);
  EXPECT_EQ(r.dangerous, 0);
}

TEST_F(Simulate, BenignKnobsKeepHonestTrafficExactAndNeverDangerous) {
  SimulateOptions s = options("benign");
  s.dtype = "bf16";
  s.batch = 5;
  s.logit_noise = 0.01;
  simulate(s, *comm_);
  const Rates r = score("benign");
  EXPECT_GE(r.exact_rate(), 0.95);
  EXPECT_EQ(r.dangerous, 0);
}

TEST_F(Simulate, EveryGumbelMaxProfileIsReplayable) {
  for (const std::string profile : {"vllm-cuda:sm_count=132", "hf-torch-cpu"}) {
    SimulateOptions s = options(profile.substr(0, 4));
    s.profile = profile;
    s.messages = 6;
    s.batch = 3;
    simulate(s, *comm_);
    const Rates r = score(profile.substr(0, 4));
    EXPECT_EQ(r.unverifiable, 0) << profile;
    EXPECT_GE(r.exact_rate(), 0.95) << profile;
  }
}

TEST_F(Simulate, IsDeterministicAndFreshSeedsDifferPerMessage) {
  simulate(options("a"), *comm_);
  simulate(options("b"), *comm_);
  ArchiveReader a = ArchiveReader::open(dir_ / "a"), b = ArchiveReader::open(dir_ / "b");
  EXPECT_EQ(a.manifest().shards.back().chain_head, b.manifest().shards.back().chain_head);
  EXPECT_NE(a.read({0, 0}).seed, a.read({0, 1}).seed);
  SimulateOptions fixed = options("fixed");
  fixed.fixed_seed = 77;
  simulate(fixed, *comm_);
  ArchiveReader f = ArchiveReader::open(dir_ / "fixed");
  EXPECT_EQ(f.read({0, 0}).seed, 77u);
  EXPECT_EQ(f.read({0, 3}).seed, 77u);
  EXPECT_EQ(f.read({0, 3}).prompt, a.read({0, 3}).prompt);  // prompts do not depend on the seed mode
}

TEST_F(Simulate, StopTokensEndMessagesAndBadOptionsAreRefused) {
  SimulateOptions s = options("stop");
  s.params.temperature = 0.0f;  // greedy: the first token is fixed, so make it the stop token
  simulate(s, *comm_);
  ArchiveReader reader = ArchiveReader::open(dir_ / "stop");
  const LogRecord first = reader.read({0, 0});
  SimulateOptions stop = options("stop2");
  stop.params.temperature = 0.0f;
  stop.stop_tokens = {first.output.front()};
  simulate(stop, *comm_);
  EXPECT_EQ(ArchiveReader::open(dir_ / "stop2").read({0, 0}).output, std::vector<std::int32_t>{first.output.front()});

  SimulateOptions bad = options("bad");
  bad.profile = "llamacpp-dist";
  EXPECT_THROW(simulate(bad, *comm_), ConfigError);
  bad = options("bad");
  bad.params.top_p = 1.5f;
  EXPECT_THROW(simulate(bad, *comm_), ConfigError);
  bad = options("bad");
  bad.profile = "no-such-profile";
  EXPECT_THROW(simulate(bad, *comm_), Error);
}

}  // namespace
}  // namespace fssl
