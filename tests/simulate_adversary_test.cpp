// Dishonest simulated servers (stego.h) against the verifier, library level: every adversary's
// archive validates, its ground truth is consistent, random and top-k steganography are flagged,
// the admissible-set adversary stays within the capacity bound and its receiver recovers the
// payload, and every bug mode is told apart from honest traffic per message.
#include <algorithm>
#include <filesystem>

#include "fssl/stego.h"
#include "simulate_fixture.h"

namespace fssl {
namespace {

class Adversaries : public SimulateFixture {
 protected:
  // The most non-safe tokens any honest message of the same setup carries.
  std::int64_t honest_non_safe_max() {
    std::int64_t worst = 0;
    for (const ScoredMessage& m : score_all("honest")) worst = std::max(worst, m.non_safe());
    return worst;
  }

  // Share of messages with more non-safe tokens than any honest message.
  static double detection_rate(const std::vector<ScoredMessage>& scored, std::int64_t honest_max) {
    std::int64_t flagged = 0;
    for (const ScoredMessage& m : scored) flagged += m.non_safe() > honest_max ? 1 : 0;
    return static_cast<double>(flagged) / static_cast<double>(std::max<std::size_t>(scored.size(), 1));
  }
};

TEST_F(Adversaries, RandomTokensAreFlaggedInEveryMessageAndLogTheirPayload) {
  simulate(options("honest"), *comm_);
  const std::int64_t honest_max = honest_non_safe_max();
  SimulateOptions s = options("random");
  s.adversary = "random-tokens";
  simulate(s, *comm_);
  EXPECT_TRUE(archive_validate(dir_ / "random", nullptr).ok());
  const auto scored = score_all("random");
  ASSERT_EQ(scored.size(), 12u);
  for (const ScoredMessage& m : scored) {
    EXPECT_TRUE(m.truth["adversarial"].get<bool>());
    // V = 4096: every token carries 12 bits, every position used.
    EXPECT_EQ(m.truth["bits"].get<std::int64_t>(), 12 * m.tokens());
    EXPECT_EQ(m.truth["positions"].size(), static_cast<std::size_t>(m.tokens()));
  }
  const double rate = detection_rate(scored, honest_max);
  std::printf("random-tokens: detection %.0f %% (honest messages carry at most %lld non-safe tokens)\n", 100.0 * rate,
              static_cast<long long>(honest_max));
  EXPECT_EQ(rate, 1.0);
}

TEST_F(Adversaries, TopkStegoIsFlaggedAtEveryWidth) {
  simulate(options("honest"), *comm_);
  const std::int64_t honest_max = honest_non_safe_max();
  for (int b : {1, 2, 4, 8}) {
    SimulateOptions s = options("topk" + std::to_string(b));
    s.adversary = "topk-stego";
    s.stego_bits = b;
    simulate(s, *comm_);
    const auto scored = score_all("topk" + std::to_string(b));
    std::int64_t tokens = 0, suspicious = 0, dangerous = 0;
    for (const ScoredMessage& m : scored) {
      tokens += m.tokens();
      suspicious += m.count_tier(TokenTier::kSuspicious);
      dangerous += m.count_tier(TokenTier::kDangerous);
      EXPECT_EQ(m.truth["bits"].get<std::int64_t>(), b * m.tokens());
    }
    const double rate = detection_rate(scored, honest_max);
    const double per = 100.0 / static_cast<double>(tokens);
    std::printf("topk-stego b=%d: detection %.0f %%, suspicious %.1f %%, dangerous %.1f %% of tokens\n", b, 100.0 * rate,
                per * static_cast<double>(suspicious), per * static_cast<double>(dangerous));
    EXPECT_EQ(rate, 1.0) << "b = " << b;
    // Choices among the top 2^b <= R + 1 tokens stay within the raw-rank cutoff: suspicious only.
    if ((1 << b) <= ScoreConfig{}.rank_cutoff + 1) {
      EXPECT_EQ(dangerous, 0) << "b = " << b;
    }
  }
}

// The engine profiles' noise is the adversary's coin too: its admissible sets are the verifier's
// (SGLang's keyed by sort rank under the fixture's top-k / top-p).
TEST_F(Adversaries, AdmissibleStegoOnEngineProfilesStaysWithinTheBound) {
  const ScoreConfig config;
  const auto column = std::find(config.margin_grid.begin(), config.margin_grid.end(), config.margin_threshold) -
                      config.margin_grid.begin();
  for (const std::string profile : {"vllm-mrv2:noise=fp32-log1p", "vllm-mrv2:noise=fp64", "vllm-mrv2:noise=murmur3",
                                    "vllm-mrv2:noise=murmur3-fp64", "sglang:noise=murmur3"}) {
    const std::string name = "adm-" + profile.substr(0, 6) + std::to_string(profile.size());
    SimulateOptions s = options(name);
    s.profile = profile;
    s.adversary = "admissible-stego";
    s.messages = 4;
    s.stego_margin = config.margin_threshold;
    simulate(s, *comm_);
    std::int64_t embedded = 0;
    for (const ScoredMessage& m : score_all(name, config)) {
      const auto bits = m.truth["bits"].get<std::int64_t>();
      EXPECT_LE(static_cast<double>(bits), m.admissible_bits(column) + 1e-9)
          << profile << " message " << m.record.message_id;
      EXPECT_EQ(m.count_tier(TokenTier::kDangerous), 0) << profile;
      embedded += bits;
    }
    EXPECT_GT(embedded, 0) << profile;
  }
}

TEST_F(Adversaries, AdmissibleStegoStaysWithinTheBoundAndItsReceiverDecodesThePayload) {
  SimulateOptions s = options("admissible");
  s.adversary = "admissible-stego";
  s.messages = 8;
  const ScoreConfig config;
  s.stego_margin = config.margin_threshold;
  const SimulateSummary sum = simulate(s, *comm_);
  EXPECT_TRUE(archive_validate(dir_ / "admissible", nullptr).ok());
  // The verifier's admissible sets at the adversary's delta: the grid column equal to it.
  const auto column = std::find(config.margin_grid.begin(), config.margin_grid.end(), config.margin_threshold) -
                      config.margin_grid.begin();
  ASSERT_LT(column, static_cast<std::ptrdiff_t>(config.margin_grid.size()));
  const auto scored = score_all("admissible", config);
  ASSERT_EQ(scored.size(), 8u);
  // The receiver knows the payload source: the model's weights after the safetensors header.
  std::string weights;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "model")) {
    if (e.path().extension() == ".safetensors") weights = e.path().string();
  }
  const PayloadBits payload(payload_read(weights, std::size_t{1} << 24, true));
  std::int64_t embedded = 0, tokens = 0, safe = 0;
  double allowed = 0.0;
  for (const ScoredMessage& m : scored) {
    const auto bits = m.truth["bits"].get<std::int64_t>();
    const double bound = m.admissible_bits(column);
    EXPECT_LE(static_cast<double>(bits), bound + 1e-9) << "message " << m.record.message_id;
    embedded += bits;
    allowed += bound;
    tokens += m.tokens();
    safe += m.count_tier(TokenTier::kSafe);
    EXPECT_EQ(m.count_tier(TokenTier::kDangerous), 0);
    // Round trip: the receiver's bits are the payload's, from this message's slice on.
    const std::vector<bool> decoded = admissible_stego_decode(*verifier_, m.record, s.stego_margin);
    ASSERT_EQ(static_cast<std::int64_t>(decoded.size()), bits) << "message " << m.record.message_id;
    const auto start = m.truth["payload_start"].get<std::uint64_t>();
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      ASSERT_EQ(decoded[i], payload.bit(start + i)) << "message " << m.record.message_id << " bit " << i;
    }
  }
  EXPECT_EQ(static_cast<std::uint64_t>(embedded), sum.embedded_bits);
  EXPECT_GT(embedded, 0);
  std::printf("admissible-stego delta=%.1f: %lld bits embedded in %lld tokens (%.3f bits/token), the verifier's sets "
              "allow %.1f; %.2f %% of its tokens safe\n",
              s.stego_margin, static_cast<long long>(embedded), static_cast<long long>(tokens),
              static_cast<double>(embedded) / static_cast<double>(tokens), allowed,
              100.0 * static_cast<double>(safe) / static_cast<double>(tokens));
  // A token outside its admissible set is not this adversary's: the receiver refuses it.
  LogRecord forged = scored.front().record;
  forged.output.back() = static_cast<std::int32_t>((forged.output.back() + 2048) % 4096);
  EXPECT_THROW(admissible_stego_decode(*verifier_, forged, s.stego_margin), ReplayError);
}

// Bug modes against honest traffic of the same bf16 server, 300 output tokens per message, one
// per-message feature: DiFR's mean margin, each token's clipped at 5.
class BugModes : public SimulateFixture {
 protected:
  static constexpr int kMessages = 16;

  void SetUp() override {
    SimulateFixture::SetUp();
    simulate(bug_options("honest", "none"), *comm_);
    honest_ = feature(score_all("honest"));
  }

  SimulateOptions bug_options(const std::string& archive, const std::string& bug) {
    SimulateOptions s = options(archive);
    s.messages = kMessages;
    s.max_tokens = 300;
    s.batch = 8;
    s.dtype = "bf16";
    s.bug = bug;
    return s;
  }

  static std::vector<double> feature(const std::vector<ScoredMessage>& scored) {
    std::vector<double> f;
    for (const ScoredMessage& m : scored) f.push_back(m.mean_clipped_margin());
    return f;
  }

  // The bug's archive scored, and its AUC against the honest messages (printed).
  double auc_against_honest(const std::string& bug, std::vector<ScoredMessage>* scored_bug = nullptr) {
    simulate(bug_options(bug, bug), *comm_);
    auto scored = score_all(bug);
    const double auc = roc_auc(feature(scored), honest_);
    std::printf("%s: AUC %.4f (%d vs %d messages of 300 tokens, mean margin clipped at 5)\n", bug.c_str(), auc,
                kMessages, kMessages);
    if (scored_bug) *scored_bug = std::move(scored);
    return auc;
  }

  std::vector<double> honest_;
};

TEST_F(BugModes, FourBitModelIsSeparated) { EXPECT_GE(auc_against_honest("quantized-4bit"), 0.99); }

TEST_F(BugModes, EightBitModelIsMeasuredAndNeverDangerous) {
  // 8-bit rounding moves logits about as much as bf16 does: recorded, not required to separate.
  std::vector<ScoredMessage> eight;
  auc_against_honest("quantized-8bit", &eight);
  ASSERT_EQ(eight.size(), static_cast<std::size_t>(kMessages));
  for (const ScoredMessage& m : eight) EXPECT_EQ(m.count_tier(TokenTier::kDangerous), 0);
}

TEST_F(BugModes, WrongSeedIsSeparated) { EXPECT_GE(auc_against_honest("wrong-seed"), 0.99); }

TEST_F(BugModes, WrongTemperatureIsSeparated) { EXPECT_GE(auc_against_honest("wrong-temperature"), 0.99); }

TEST_F(BugModes, BuggyProcessorIsSeparatedWhereItChangedATokenFarEnough) {
  std::vector<ScoredMessage> scored;
  const double auc = auc_against_honest("buggy-processor", &scored);
  // At 1 % per token a message of 300 escapes with probability ~ (1 - 0.0095)^300 = 6 %, and a
  // forced token can land next to the winner (a margin inside bf16 noise): such messages are
  // honest-looking traffic, and no per-message score can rank them above honest ones. Over the
  // messages where the ground truth says the bug changed a token, separation must be near-perfect.
  std::vector<double> fired;
  for (const ScoredMessage& m : scored) {
    if (!m.truth["forced"].empty()) fired.push_back(m.mean_clipped_margin());
  }
  const double auc_fired = roc_auc(fired, honest_);
  std::printf("buggy-processor: AUC %.4f overall, %.4f over the %zu of %d messages the bug changed\n", auc, auc_fired,
              fired.size(), kMessages);
  EXPECT_GE(auc_fired, 0.95);
  EXPECT_GE(auc, 0.75);
}

}  // namespace
}  // namespace fssl
