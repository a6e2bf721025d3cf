// Shared setup of the simulator tests: a small model, simulated archives in a temp dir, and every
// message read back and scored by the fp32 verifier (verify.h) with its ground truth.
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fssl/archive.h"
#include "fssl/model_init.h"
#include "fssl/simulate.h"
#include "fssl/verify.h"
#include "test_util.h"

namespace fssl {

// One scored message and its ground truth.
struct ScoredMessage {
  LogRecord record;
  MessageScores scores;
  nlohmann::json truth;  // the sidecar line (empty object if none)
  // Exact match and tier exist for both score kinds (Gumbel-max margin, llama.cpp IPT-LS).
  const at::Tensor& exact_tensor() const {
    const auto* ipt = std::get_if<IptScoreBatch>(&scores);
    return ipt ? ipt->exact : std::get<ScoreBatch>(scores).exact;
  }
  const at::Tensor& tier_tensor() const {
    const auto* ipt = std::get_if<IptScoreBatch>(&scores);
    return ipt ? ipt->tier : std::get<ScoreBatch>(scores).tier;
  }
  std::int64_t tokens() const { return exact_tensor().numel(); }
  std::int64_t count_tier(TokenTier t) const { return tier_tensor().eq(static_cast<int>(t)).sum().item<std::int64_t>(); }
  std::int64_t non_safe() const { return tokens() - count_tier(TokenTier::kSafe); }
  std::int64_t exact() const { return exact_tensor().sum().item<std::int64_t>(); }
  // DiFR's per-message feature: the mean margin, each clipped at `clip`.
  double mean_clipped_margin(double clip = 5.0) const {
    return std::get<ScoreBatch>(scores).margin.clamp_max(clip).to(at::kDouble).mean().item<double>();
  }
  // sum_t log2 |A_t(delta)| for margin-grid column `column`.
  double admissible_bits(std::int64_t column) const {
    return std::get<ScoreBatch>(scores)
        .admissible.select(1, column)
        .to(at::kDouble)
        .clamp_min(1.0)
        .log2()
        .sum()
        .item<double>();
  }
};

class SimulateFixture : public ::testing::Test {
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

  // Every message of `archive`, scored; unverifiable messages fail the test.
  std::vector<ScoredMessage> score_all(const std::string& archive, const ScoreConfig& config = ScoreConfig{}) {
    std::map<std::uint64_t, nlohmann::json> truth;
    std::ifstream in(simulate_truth_path(dir_ / archive));
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line);
      truth[j["message_id"].get<std::uint64_t>()] = j;
    }
    ArchiveReader reader = ArchiveReader::open(dir_ / archive);
    std::vector<ScoredMessage> out;
    for (std::uint32_t k = 0; k < reader.manifest().shards.size(); ++k) {
      for (std::uint64_t row = 0; row < reader.manifest().shards[k].n_messages; ++row) {
        ScoredMessage m;
        m.record = reader.read({k, row});
        m.scores = verify_message(*verifier_, m.record, config);
        EXPECT_TRUE(verifiable(m.scores)) << "message " << m.record.message_id << ": " << unverifiable_reason(m.scores);
        if (!verifiable(m.scores)) continue;
        m.truth = truth.count(m.record.message_id) ? truth[m.record.message_id] : nlohmann::json::object();
        out.push_back(std::move(m));
      }
    }
    std::int64_t tokens = 0, exact = 0, safe = 0, dangerous = 0;
    for (const ScoredMessage& m : out) {
      tokens += m.tokens();
      exact += m.exact();
      safe += m.count_tier(TokenTier::kSafe);
      dangerous += m.count_tier(TokenTier::kDangerous);
    }
    const double per = 100.0 / static_cast<double>(std::max<std::int64_t>(tokens, 1));
    std::printf("%-28s %3zu messages, %6lld tokens, exact %6.2f %%, safe %6.2f %%, dangerous %lld\n", archive.c_str(),
                out.size(), static_cast<long long>(tokens), per * static_cast<double>(exact),
                per * static_cast<double>(safe), static_cast<long long>(dangerous));
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Model> verifier_;
};

// Area under the ROC curve of `positive` scores against `negative` ones (Mann-Whitney: ties count
// one half).
inline double roc_auc(const std::vector<double>& positive, const std::vector<double>& negative) {
  double wins = 0.0;
  for (double p : positive) {
    for (double n : negative) wins += p > n ? 1.0 : p == n ? 0.5 : 0.0;
  }
  return wins / (static_cast<double>(positive.size()) * static_cast<double>(negative.size()));
}

}  // namespace fssl
