// The simulated server (simulate.h) against the verifier (verify.h), library level: honest traffic
// written to a real archive, read back and scored message by message with an fp32 prefill replay.
#include "simulate_fixture.h"

namespace fssl {
namespace {

struct Rates {
  std::int64_t messages = 0, tokens = 0, exact = 0, dangerous = 0;
  double exact_rate() const { return tokens ? static_cast<double>(exact) / static_cast<double>(tokens) : 0.0; }
};

Rates rates(const std::vector<ScoredMessage>& scored) {
  Rates r;
  for (const ScoredMessage& m : scored) {
    ++r.messages;
    r.tokens += m.tokens();
    r.exact += m.exact();
    r.dangerous += m.count_tier(TokenTier::kDangerous);
  }
  return r;
}

class Simulate : public SimulateFixture {
 protected:
  Rates score(const std::string& archive) { return rates(score_all(archive)); }
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

TEST_F(Simulate, EveryProfileIsReplayable) {
  for (const std::string profile : {"vllm-cuda:sm_count=132", "hf-torch-cpu", "llamacpp-dist"}) {
    SimulateOptions s = options(profile.substr(0, 4));
    s.profile = profile;
    s.messages = 6;
    s.batch = 3;
    simulate(s, *comm_);
    const Rates r = score(profile.substr(0, 4));
    EXPECT_EQ(r.messages, 6) << profile;  // none unverifiable
    EXPECT_GE(r.exact_rate(), 0.95) << profile;
  }
}

// Today's engines: fp32 traffic from the same model replays exactly (the server's decision and the
// verifier's come from the same noise and the same float32 rule), and greedy messages do too. SGLang
// runs its sorted top-k / top-p path (noise keyed by rank) with the fixture's filters, and its
// token-keyed path (temperature only) under the capped variant.
TEST_F(Simulate, EngineProfilesReplayFp32TrafficExactly) {
  int k = 0;
  for (const std::string profile :
       {"vllm-mrv2:noise=fp64-eps20", "vllm-mrv2:noise=fp32-log-1e-7", "vllm-mrv2:noise=fp32-log-tiny",
        "vllm-mrv2:noise=fp32-log1p", "vllm-mrv2:noise=fp64", "vllm-mrv2:noise=murmur3",
        "vllm-mrv2:noise=murmur3-unfused", "vllm-mrv2:noise=murmur3-fp64", "sglang:noise=murmur3",
        "sglang:noise=murmur3-capped"}) {
    const std::string name = "engine" + std::to_string(k++);
    SimulateOptions s = options(name);
    s.profile = profile;
    s.messages = 6;
    s.batch = 3;
    s.params.temperature = 0.8f;
    if (profile == "sglang:noise=murmur3-capped") s.params = SamplerParams{0.8f};
    simulate(s, *comm_);
    const Rates r = score(name);
    EXPECT_EQ(r.messages, 6) << profile;  // none unverifiable
    EXPECT_EQ(r.exact, r.tokens) << profile;
    EXPECT_EQ(r.dangerous, 0) << profile;
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
  bad.adversary = "admissible-stego";  // its sets are Gumbel-max margins
  EXPECT_THROW(simulate(bad, *comm_), ConfigError);
  bad = options("bad");
  bad.adversary = "no-such-adversary";
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

namespace fssl {
namespace {

// The knob table of docs/simulator.md (minutes, so not in CI):
//   build/tests/simulate_test --gtest_also_run_disabled_tests --gtest_filter='*KnobTable*'
TEST_F(Simulate, DISABLED_KnobTable) {
  struct Knob {
    const char* name;
    std::string dtype;
    std::int64_t batch;
    double noise;
  };
  const Knob knobs[] = {{"fp32-batch8", "fp32", 8, 0.0},  {"fp32-batch1", "fp32", 1, 0.0},
                        {"bf16", "bf16", 8, 0.0},         {"noise0.01", "fp32", 8, 0.01},
                        {"noise0.1", "fp32", 8, 0.1},     {"noise0.3", "fp32", 8, 0.3},
                        {"bf16+noise0.01", "bf16", 8, 0.01}};
  for (const bool filtered : {true, false}) {
    for (const Knob& k : knobs) {
      const std::string name = std::string(filtered ? "topk50p095-" : "T1-") + k.name;
      SimulateOptions s = options(name);
      s.messages = 64;
      s.max_tokens = 64;
      s.dtype = k.dtype;
      s.batch = k.batch;
      s.logit_noise = k.noise;
      if (!filtered) {
        s.params.top_k = 0;
        s.params.top_p = 1.0f;
      }
      simulate(s, *comm_);
      score_all(name);
    }
  }
  for (const std::string dtype : {"fp32", "bf16"}) {  // llama.cpp's dist sampler, scored by IPT-LS
    SimulateOptions s = options("llamacpp-" + dtype);
    s.profile = "llamacpp-dist";
    s.messages = 64;
    s.max_tokens = 64;
    s.dtype = dtype;
    simulate(s, *comm_);
    score_all("llamacpp-" + dtype);
  }
}

}  // namespace
}  // namespace fssl
