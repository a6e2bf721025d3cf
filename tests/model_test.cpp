// Model replay at TP = 1 against Hugging Face transformers' own logits (committed fixtures),
// KV-cache decode, bf16 compute, fingerprints, deterministic init, and bad model directories.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fssl/model_init.h"
#include "model_test_util.h"
#include "test_util.h"

namespace fssl {
namespace {

using test::GoldenSequence;

class MatchesTransformers : public ::testing::TestWithParam<const char*> {};

TEST_P(MatchesTransformers, LogitsOfPackedSequencesWithin1e4) {
  const std::string name = GetParam();
  auto comm = comm_local();
  Model model = Model::load(test::hf_fixture(name), *comm, ModelOptions{});
  const std::vector<GoldenSequence> seqs = test::golden_sequences(name);
  auto [tokens, segments] = test::pack(seqs);
  at::Tensor logits = test::all_logits(model, tokens, segments);
  std::vector<at::Tensor> parts;
  for (const GoldenSequence& s : seqs) parts.push_back(s.logits);
  at::Tensor golden = at::cat(parts);
  ASSERT_EQ(logits.sizes(), golden.sizes());
  const double max_diff = (logits - golden).abs().max().item<double>();
  std::printf("[%s] max |fssl - transformers| = %.3g over %lld logits (golden std %.3g)\n", name.c_str(), max_diff,
              static_cast<long long>(golden.numel()), golden.std().item<double>());
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_TRUE(at::equal(logits.argmax(1), golden.argmax(1)));
}

INSTANTIATE_TEST_SUITE_P(Hf, MatchesTransformers, ::testing::Values("llama", "mistral", "mistral-window", "qwen2", "qwen3", "llama-bf16"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& ch : s) if (ch == '-') ch = '_';
                           return s;
                         });

TEST(Model, ReadsTheTransformers5ConfigLayoutLikeTheClassicOne) {
  // llama/config.transformers-native.json is what transformers 5 wrote (rope_parameters).
  const ModelConfig classic = ModelConfig::read(test::hf_fixture("llama") + "/config.json");
  const ModelConfig native = ModelConfig::read(test::hf_fixture("llama") + "/config.transformers-native.json");
  EXPECT_EQ(native.rope_theta, classic.rope_theta);
  EXPECT_EQ(native.rope_scaling.type, RopeScaling::Type::kLlama3);
  EXPECT_EQ(native.rope_scaling.factor, classic.rope_scaling.factor);
  EXPECT_EQ(native.rope_scaling.original_max_position_embeddings, classic.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(native.head_dim, classic.head_dim);
}

TEST(Model, SlidingWindowDecodeEqualsTransformers) {
  auto comm = comm_local();
  Model model = Model::load(test::hf_fixture("mistral-window"), *comm, ModelOptions{});
  ASSERT_EQ(model.config().sliding_window, 8);
  const GoldenSequence seq = test::golden_sequences("mistral-window")[3];  // 40 tokens, window 8
  at::NoGradGuard no_grad;
  KvCache cache = model.kv_cache_new();
  std::vector<at::Tensor> rows;
  rows.push_back(model.logits_shard(model.forward_hidden(seq.input_ids.narrow(0, 0, 3), {{0, 3, &cache}})));
  for (std::int64_t i = 3; i < seq.input_ids.size(0); ++i) {
    rows.push_back(model.logits_shard(model.forward_hidden(seq.input_ids.narrow(0, i, 1), {{0, 1, &cache}})));
  }
  at::Tensor decoded = at::cat(rows).narrow(1, 0, model.config().vocab_size);
  EXPECT_LT((decoded - seq.logits).abs().max().item<double>(), 1e-4);
}

TEST(Model, KvCacheDecodeEqualsPrefill) {
  auto comm = comm_local();
  Model model = Model::load(test::hf_fixture("qwen3"), *comm, ModelOptions{});
  const GoldenSequence seq = test::golden_sequences("qwen3")[3];  // 40 tokens
  const std::int64_t L = seq.input_ids.size(0), prompt = 11;
  at::NoGradGuard no_grad;
  KvCache cache = model.kv_cache_new();
  std::vector<at::Tensor> rows;
  at::Tensor h = model.forward_hidden(seq.input_ids.narrow(0, 0, prompt), {{0, prompt, &cache}});
  rows.push_back(model.logits_shard(h));
  for (std::int64_t i = prompt; i < L; ++i) {
    h = model.forward_hidden(seq.input_ids.narrow(0, i, 1), {{0, 1, &cache}});
    rows.push_back(model.logits_shard(h));
  }
  EXPECT_EQ(cache.length, L);
  at::Tensor decoded = at::cat(rows).narrow(1, 0, model.config().vocab_size);
  const double vs_golden = (decoded - seq.logits).abs().max().item<double>();
  at::Tensor prefill = test::all_logits(model, seq.input_ids, {{0, L, nullptr}});
  const double vs_prefill = (decoded - prefill).abs().max().item<double>();
  std::printf("decode vs transformers %.3g, decode vs prefill %.3g\n", vs_golden, vs_prefill);
  EXPECT_LT(vs_golden, 1e-4);
  EXPECT_LT(vs_prefill, 1e-5);
}

TEST(Model, Bf16ComputeStaysWithinDocumentedToleranceOfFp32) {
  auto comm = comm_local();
  ModelOptions bf16;
  bf16.compute_dtype = at::kBFloat16;
  Model model = Model::load(test::hf_fixture("llama"), *comm, bf16);
  const std::vector<GoldenSequence> seqs = test::golden_sequences("llama");
  auto [tokens, segments] = test::pack(seqs);
  at::Tensor logits = test::all_logits(model, tokens, segments);
  at::Tensor golden = at::cat(std::vector<at::Tensor>{seqs[0].logits, seqs[1].logits, seqs[2].logits, seqs[3].logits});
  const double rel = ((logits - golden).abs().max() / golden.abs().max()).item<double>();
  const double agree = logits.argmax(1).eq(golden.argmax(1)).to(at::kFloat).mean().item<double>();
  std::printf("bf16 compute: max |diff| / max |logit| = %.4f, argmax agreement %.3f\n", rel, agree);
  EXPECT_LT(rel, 0.05);     // docs/model-format.md: bf16 compute within 5 % of the logit range
  EXPECT_GT(agree, 0.90);
  EXPECT_GT(rel, 0.0);      // and it really computed in bf16
}

TEST(Model, FingerprintMatchesThePythonReferenceAndIgnoresSharding) {
  EXPECT_EQ(model_fingerprint(test::hf_fixture("llama")), test::golden_fingerprint("llama"));
  EXPECT_EQ(model_fingerprint(test::hf_fixture("qwen3")), test::golden_fingerprint("qwen3"));
  EXPECT_EQ(model_fingerprint(test::hf_fixture("llama-sharded")), model_fingerprint(test::hf_fixture("llama")));
  EXPECT_NE(model_fingerprint(test::hf_fixture("llama-bf16")), model_fingerprint(test::hf_fixture("llama")));
}

TEST(Model, InitIsDeterministicAndMatchesTheStandaloneFingerprintTool) {
  test::TempDir dir;
  ModelInitOptions o;
  o.arch = "qwen2";
  o.seed = 7;
  model_init(o, dir / "a");
  model_init(o, dir / "b");
  o.seed = 8;
  model_init(o, dir / "c");
  const std::string a = model_fingerprint(dir / "a");
  EXPECT_EQ(a, model_fingerprint(dir / "b"));
  EXPECT_NE(a, model_fingerprint(dir / "c"));
  // tools/model_fingerprint.py: an independent standard-library implementation of the spec.
  const std::string cmd = "/usr/bin/python3 " + std::string(FSSL_SOURCE_DIR) + "/tools/model_fingerprint.py " + (dir / "a");
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buf[256] = {};
  ASSERT_NE(std::fgets(buf, sizeof buf, pipe), nullptr);
  ::pclose(pipe);
  EXPECT_EQ(std::string(buf).substr(0, 64), a);
  auto comm = comm_local();
  Model model = Model::load(dir / "a", *comm, ModelOptions{});
  at::Tensor logits = test::all_logits(model, at::arange(0, 20, at::kLong), {{0, 20, nullptr}});
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  EXPECT_GT(logits.std(1).mean().item<double>(), 1.0);  // informative, not near-uniform
}

}  // namespace
}  // namespace fssl
