// Logits processors end to end: simulated clients set penalties, logit bias, min_tokens, bad words
// and allowed ids per message (--processors random), the server applies them in its engine's order,
// and the verifier replays them from the archive. Honest penalised fp32 traffic must replay exactly
// and never be dangerous; the same traffic logged without its processors must be flagged, so the
// feature cannot silently regress; the admissible-set adversary on processed logits stays bounded.
#include <algorithm>
#include <filesystem>

#include "fssl/stego.h"
#include "simulate_fixture.h"

namespace fssl {
namespace {

class SimulateProcessors : public SimulateFixture {
 protected:
  SimulateOptions penalised(const std::string& archive, const std::string& profile) {
    SimulateOptions s = options(archive);
    s.profile = profile;
    s.processors = "random";
    s.stop_tokens = {1, 2};  // min_tokens masks them; they also end messages
    s.messages = 16;
    s.batch = 4;
    s.params.temperature = 0.8f;
    return s;
  }
};

struct Tally {
  std::int64_t tokens = 0, exact = 0, dangerous = 0, with_processors = 0;
};

Tally tally(const std::vector<ScoredMessage>& scored) {
  Tally t;
  for (const ScoredMessage& m : scored) {
    t.tokens += m.tokens();
    t.exact += m.exact();
    t.dangerous += m.count_tier(TokenTier::kDangerous);
    t.with_processors += m.record.sampler.processors.active() ? 1 : 0;
  }
  return t;
}

// Every engine order: vLLM V1 (vllm-cuda, fssl-philox), V2 (fused and unfused frequency, the late
// min_tokens release), transformers and llama.cpp.
TEST_F(SimulateProcessors, HonestPenalisedTrafficReplaysExactlyUnderEveryEngine) {
  int k = 0;
  for (const std::string profile :
       {"fssl-philox", "vllm-cuda:sm_count=132", "vllm-mrv2:noise=murmur3", "vllm-mrv2:noise=murmur3-unfused",
        "vllm-mrv2:noise=fp32-log1p,min_tokens=late", "hf-torch-cpu", "llamacpp-dist"}) {
    const std::string name = "honest" + std::to_string(k++);
    simulate(penalised(name, profile), *comm_);
    const Tally t = tally(score_all(name));
    EXPECT_GE(t.with_processors, 4) << profile;  // most clients set some (llama.cpp has fewer to set)
    EXPECT_EQ(t.dangerous, 0) << profile;
    if (profile == "llamacpp-dist") {
      EXPECT_GE(static_cast<double>(t.exact), 0.95 * static_cast<double>(t.tokens)) << profile;
    } else {
      EXPECT_EQ(t.exact, t.tokens) << profile;
    }
  }
}

TEST_F(SimulateProcessors, TrafficLoggedWithoutItsProcessorsIsFlagged) {
  for (const std::string profile : {"vllm-mrv2:noise=murmur3", "hf-torch-cpu"}) {
    SimulateOptions honest = penalised("honest", profile);
    simulate(honest, *comm_);
    SimulateOptions dropped = penalised("dropped", profile);
    dropped.bug = "unlogged-processors";
    simulate(dropped, *comm_);
    const Tally h = tally(score_all("honest")), d = tally(score_all("dropped"));
    EXPECT_EQ(d.tokens, h.tokens) << profile;  // the same traffic: only the log differs
    EXPECT_EQ(d.with_processors, 0) << profile;
    EXPECT_EQ(h.dangerous, 0) << profile;
    EXPECT_EQ(h.exact, h.tokens) << profile;
    EXPECT_GT(d.dangerous, 0) << profile;
    EXPECT_LT(d.exact, h.exact) << profile;
    std::filesystem::remove_all(dir_ / "honest");
    std::filesystem::remove_all(dir_ / "dropped");
    std::filesystem::remove(simulate_truth_path(dir_ / "honest"));
    std::filesystem::remove(simulate_truth_path(dir_ / "dropped"));
  }
}

TEST_F(SimulateProcessors, AdmissibleStegoOnProcessedLogitsStaysWithinTheBound) {
  const ScoreConfig config;
  const auto column = std::find(config.margin_grid.begin(), config.margin_grid.end(), config.margin_threshold) -
                      config.margin_grid.begin();
  SimulateOptions s = penalised("stego", "vllm-mrv2:noise=murmur3");
  s.adversary = "admissible-stego";
  s.messages = 8;
  s.stego_margin = config.margin_threshold;
  simulate(s, *comm_);
  std::int64_t embedded = 0;
  for (const ScoredMessage& m : score_all("stego", config)) {
    const auto bits = m.truth["bits"].get<std::int64_t>();
    EXPECT_LE(static_cast<double>(bits), m.admissible_bits(column) + 1e-9) << "message " << m.record.message_id;
    EXPECT_EQ(m.count_tier(TokenTier::kDangerous), 0);
    EXPECT_EQ(static_cast<std::int64_t>(admissible_stego_decode(*verifier_, m.record, s.stego_margin).size()), bits);
    embedded += bits;
  }
  EXPECT_GT(embedded, 0);
}

}  // namespace
}  // namespace fssl
