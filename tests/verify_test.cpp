// One message end to end: a tiny model serves tokens with the fssl-philox rule (contrib reference
// sampler on KV-cache decode logits, as a server would), fssl replays it by prefill and scores it;
// a tampered token is caught; malformed messages are unverifiable with a reason.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "../contrib/fssl_philox/fssl_philox.h"
#include "fssl/model_init.h"
#include "fssl/noise.h"
#include "fssl/verify.h"
#include "test_util.h"

namespace fssl {
namespace {

class Verify : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelInitOptions o;
    o.seed = 3;
    model_init(o, dir_ / "model");
    comm_ = comm_local();
    model_ = std::make_unique<Model>(Model::load(dir_ / "model", *comm_, ModelOptions{}));
  }

  // Serves `n_output` tokens after `prompt` with the fssl-philox rule, decoding with a KV cache.
  LogRecord serve(const std::vector<std::int32_t>& prompt, std::int64_t n_output, float temperature, std::uint64_t seed) {
    LogRecord r;
    r.message_id = 1;
    r.seed = seed;
    r.sampler = {"fssl-philox", temperature, 0, 1.0f, 0.0f, {}};
    r.model = {"tiny", "", static_cast<std::uint32_t>(model_->config().vocab_size), ""};
    r.prompt = prompt;
    c10::NoGradGuard no_grad;
    KvCache cache = model_->kv_cache_new();
    std::vector<std::int64_t> ids(prompt.begin(), prompt.end());
    at::Tensor h = model_->forward_hidden(at::tensor(ids, at::kLong), {{0, static_cast<std::int64_t>(ids.size()), &cache}});
    for (std::int64_t j = 0; j < n_output; ++j) {
      at::Tensor logits = model_->logits_shard(h.narrow(0, h.size(0) - 1, 1)).contiguous();
      const std::int64_t token = fssl_philox::sample_row(logits.data_ptr<float>(), static_cast<std::size_t>(logits.size(1)),
                                                         temperature, seed, static_cast<std::uint64_t>(j));
      r.output.push_back(static_cast<std::int32_t>(token));
      h = model_->forward_hidden(at::tensor(std::vector<std::int64_t>{token}, at::kLong), {{0, 1, &cache}});
    }
    return r;
  }

  test::TempDir dir_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Model> model_;
};

TEST_F(Verify, HonestFsslPhiloxTrafficMatchesAndATamperedTokenIsCaught) {
  LogRecord r = serve({5, 77, 300, 12, 9, 41}, 40, 1.0f, 0xfeedbeefcafe1234ull);
  MessageScores honest = verify_message(*model_, r, ScoreConfig{});
  ASSERT_TRUE(verifiable(honest)) << unverifiable_reason(honest);
  const double exact_rate = std::get<ScoreBatch>(honest).exact.to(at::kFloat).mean().item<double>();
  std::printf("honest: exact %.3f, max margin %.3g\n", exact_rate,
              std::get<ScoreBatch>(honest).margin.max().item<double>());
  EXPECT_GE(exact_rate, 0.95);  // decode vs prefill rounding may flip a near-tie, rarely
  EXPECT_TRUE(std::get<ScoreBatch>(honest).tier.eq(static_cast<int>(TokenTier::kSafe)).all().item<bool>());
  // Tamper: output token 20 becomes the token the model likes least there.
  LogRecord tampered = r;
  c10::NoGradGuard no_grad;
  std::vector<std::int64_t> ids(r.prompt.begin(), r.prompt.end());
  ids.insert(ids.end(), r.output.begin(), r.output.begin() + 20);
  at::Tensor h = model_->forward_hidden(at::tensor(ids, at::kLong), {{0, static_cast<std::int64_t>(ids.size()), nullptr}});
  tampered.output[20] = static_cast<std::int32_t>(
      model_->logits_shard(h.narrow(0, h.size(0) - 1, 1)).argmin(1).item<std::int64_t>());
  MessageScores bad = verify_message(*model_, tampered, ScoreConfig{});
  ASSERT_TRUE(verifiable(bad));
  EXPECT_FALSE(std::get<ScoreBatch>(bad).exact[20].item<bool>());
  EXPECT_GT(std::get<ScoreBatch>(bad).margin[20].item<float>(), 5.0f);
  EXPECT_EQ(std::get<ScoreBatch>(bad).tier[20].item<std::uint8_t>(), static_cast<std::uint8_t>(TokenTier::kDangerous));
}

// llama.cpp's dist sampler with top-k only, written out here as a server would run it: sort by
// logit (ties: smaller id), keep k, T, softmax in that order, one uniform, first cumulative >= u.
TEST_F(Verify, LlamacppDistTrafficIsScoredByItsCdfInterval) {
  const std::uint32_t seed = 424242;
  LlamacppUniformStream stream(seed);
  LogRecord r;
  r.message_id = 9;
  r.seed = seed;
  r.sampler = {"llamacpp-dist", 0.8f, 40, 1.0f, 0.0f, {}};
  r.model = {"tiny", "", static_cast<std::uint32_t>(model_->config().vocab_size), ""};
  r.prompt = {7, 8, 9, 10};
  c10::NoGradGuard no_grad;
  KvCache cache = model_->kv_cache_new();
  std::vector<std::int64_t> ids(r.prompt.begin(), r.prompt.end());
  at::Tensor h = model_->forward_hidden(at::tensor(ids, at::kLong), {{0, static_cast<std::int64_t>(ids.size()), &cache}});
  for (int j = 0; j < 30; ++j) {
    at::Tensor l = model_->logits_shard(h.narrow(0, h.size(0) - 1, 1))[0].contiguous();
    std::vector<std::pair<float, std::int64_t>> c;
    for (std::int64_t i = 0; i < l.size(0); ++i) c.emplace_back(l[i].item<float>(), i);
    std::stable_sort(c.begin(), c.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    c.resize(40);
    double total = 0.0;
    std::vector<double> mass;
    for (auto& [logit, id] : c) {
      logit /= r.sampler.temperature;
      mass.push_back(std::exp(static_cast<double>(logit - c.front().first)));
      total += mass.back();
    }
    const double target = stream.next() * total;
    double running = 0.0;
    std::int64_t token = c.back().second;
    for (std::size_t i = 0; i < c.size(); ++i) {
      running += mass[i];
      if (running >= target) {
        token = c[i].second;
        break;
      }
    }
    r.output.push_back(static_cast<std::int32_t>(token));
    h = model_->forward_hidden(at::tensor(std::vector<std::int64_t>{token}, at::kLong), {{0, 1, &cache}});
  }
  MessageScores s = verify_message(*model_, r, ScoreConfig{});
  ASSERT_TRUE(verifiable(s)) << unverifiable_reason(s);
  ASSERT_TRUE(std::holds_alternative<IptScoreBatch>(s));
  EXPECT_TRUE(std::get<IptScoreBatch>(s).drew.all().item<bool>());
  EXPECT_GE(std::get<IptScoreBatch>(s).exact.to(at::kFloat).mean().item<double>(), 0.95);
  EXPECT_TRUE(std::get<IptScoreBatch>(s).tier.eq(static_cast<int>(TokenTier::kSafe)).all().item<bool>());
  LogRecord tampered = r;
  tampered.output[12] = (tampered.output[12] + 211) % static_cast<std::int32_t>(model_->config().vocab_size);
  MessageScores bad = verify_message(*model_, tampered, ScoreConfig{});
  EXPECT_FALSE(std::get<IptScoreBatch>(bad).exact[12].item<bool>());
  EXPECT_NE(std::get<IptScoreBatch>(bad).tier[12].item<std::uint8_t>(), static_cast<std::uint8_t>(TokenTier::kSafe));
}

TEST_F(Verify, GreedyTrafficIsAnArgmaxCheck) {
  LogRecord r = serve({1, 2, 3}, 12, 0.0f, 7);
  MessageScores s = verify_message(*model_, r, ScoreConfig{});
  ASSERT_TRUE(verifiable(s)) << unverifiable_reason(s);
  EXPECT_TRUE(std::get<ScoreBatch>(s).exact.all().item<bool>());
  EXPECT_LT(std::get<ScoreBatch>(s).margin.max().item<float>(), 1e-4f);
}

TEST_F(Verify, MalformedMessagesAreUnverifiableWithAReason) {
  const LogRecord good = serve({4, 5}, 3, 1.0f, 11);
  auto reason = [&](const std::function<void(LogRecord&)>& edit) {
    LogRecord r = good;
    edit(r);
    MessageScores s = verify_message(*model_, r, ScoreConfig{});
    EXPECT_FALSE(verifiable(s));
    return unverifiable_reason(s);
  };
  EXPECT_NE(reason([](LogRecord& r) { r.sampler.profile = "sglang-magic"; }).find("unknown profile 'sglang-magic'"),
            std::string::npos);
  EXPECT_NE(reason([](LogRecord& r) { r.sampler.profile = "vllm-cuda:sm_count=x"; }).find("sm_count=x"), std::string::npos);
  EXPECT_NE(reason([](LogRecord& r) { r.sampler.top_p = 1.5f; }).find("top_p 1.5 outside (0, 1]"), std::string::npos);
  EXPECT_NE(reason([](LogRecord& r) { r.sampler.temperature = -1.0f; }).find("temperature"), std::string::npos);
  EXPECT_NE(reason([](LogRecord& r) { r.sampler.profile = "llamacpp-dist"; r.seed = 1ull << 40; }).find("32-bit"),
            std::string::npos);
  EXPECT_NE(reason([](LogRecord& r) { r.model.vocab_size = 600; r.output[0] = 550; }).find("differs from the model's"),
            std::string::npos);
  EXPECT_TRUE(verifiable(verify_message(*model_, good, ScoreConfig{})));
}

}  // namespace
}  // namespace fssl
