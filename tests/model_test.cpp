// Model replay at TP = 1 against Hugging Face transformers' own logits (committed fixtures),
// KV-cache decode, bf16 compute, fingerprints, deterministic init, and bad model directories;
// device placement, random models of named shapes and GPU binding (gpu.h) on a GPU-less machine.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fssl/gpu.h"
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

INSTANTIATE_TEST_SUITE_P(Hf, MatchesTransformers, ::testing::Values("llama", "mistral", "mistral-window", "qwen2", "qwen3", "llama-bf16", "qwen3-moe", "mixtral"),
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
  c10::NoGradGuard no_grad;
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
  c10::NoGradGuard no_grad;
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

TEST(ModelDevice, ExplicitCpuDeviceIsBitIdenticalAndStaysOnTheCpu) {
  auto comm = comm_local();
  ModelOptions cpu;
  cpu.device = at::Device(at::kCPU);
  Model plain = Model::load(test::hf_fixture("qwen2"), *comm, ModelOptions{});
  Model placed = Model::load(test::hf_fixture("qwen2"), *comm, cpu);
  const std::vector<GoldenSequence> seqs = test::golden_sequences("qwen2");
  auto [tokens, segments] = test::pack(seqs);
  c10::NoGradGuard no_grad;
  const at::Tensor hidden = placed.forward_hidden(tokens, segments);
  const at::Tensor logits = placed.logits_shard(hidden);
  EXPECT_TRUE(hidden.device().is_cpu());
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(logits, test::all_logits(plain, tokens, segments)));
  std::vector<at::Tensor> parts;
  for (const GoldenSequence& seq : seqs) parts.push_back(seq.logits);
  EXPECT_LT((logits.narrow(1, 0, placed.config().vocab_size) - at::cat(parts)).abs().max().item<double>(), 1e-4);
}

TEST(ModelDevice, RefusesADtypeTheDeviceCannotRun) {
  auto comm = comm_local();
  ModelOptions f16;
  f16.compute_dtype = at::kHalf;  // CUDA only
  EXPECT_THROW(Model::load(test::hf_fixture("llama"), *comm, f16), ConfigError);
  EXPECT_THROW(Model::random(model_shape("tiny"), *comm, f16, 1), ConfigError);
}

TEST(ModelRandom, FixedSeedGivesAFiniteInformativeForwardOfTheRightShape) {
  auto comm = comm_local();
  const ModelConfig c = model_shape("tiny");
  Model a = Model::random(c, *comm, ModelOptions{}, 7);
  Model b = Model::random(c, *comm, ModelOptions{}, 7);
  Model other = Model::random(c, *comm, ModelOptions{}, 8);
  const std::vector<Segment> segments = {{0, 24, nullptr}, {24, 16, nullptr}};
  const at::Tensor tokens = at::arange(0, 40, at::kLong) * 11 % c.vocab_size;
  c10::NoGradGuard no_grad;
  const at::Tensor hidden = a.forward_hidden(tokens, segments);
  ASSERT_EQ(hidden.sizes(), (std::vector<std::int64_t>{40, c.hidden_size}));
  const at::Tensor logits = a.logits_shard(hidden);
  ASSERT_EQ(logits.sizes(), (std::vector<std::int64_t>{40, c.vocab_size}));
  EXPECT_EQ(logits.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  EXPECT_GT(logits.std(1).mean().item<double>(), 1.0);  // like model_init's weights: real margins
  EXPECT_TRUE(at::equal(logits, b.logits_shard(b.forward_hidden(tokens, segments))));
  EXPECT_FALSE(at::equal(logits, other.logits_shard(other.forward_hidden(tokens, segments))));
  // Packed segments stay independent: the second one alone gives the same rows.
  const at::Tensor alone = a.logits_shard(a.forward_hidden(tokens.narrow(0, 24, 16), {{0, 16, nullptr}}));
  EXPECT_LT((alone - logits.narrow(0, 24, 16)).abs().max().item<double>(), 1e-4);
}

TEST(ModelRandom, NamedShapesAreTheLlamaConfigs) {
  const ModelConfig c = model_shape("llama-8b");
  EXPECT_EQ(c.n_layers, 32);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.intermediate_size, 14336);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.n_parameters(), 8030261248);  // Llama-3.1-8B's parameter count
  EXPECT_EQ(model_shape("llama-1b").n_parameters(), 1235814400);  // Llama-3.2-1B (tied)
  EXPECT_EQ(model_shape("tiny").hidden_size, model_init_config(ModelInitOptions{}).hidden_size);
  EXPECT_THROW(model_shape("llama-70b"), ConfigError);
}

// Sets (or unsets, value nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(Gpu, LocalRankHintHonoursSlurmThenOpenMpi) {
  ScopedEnv slurm("SLURM_LOCALID", "3"), ompi("OMPI_COMM_WORLD_LOCAL_RANK", "5");
  EXPECT_EQ(local_rank_hint(), 3);
  {
    ScopedEnv no_slurm("SLURM_LOCALID", nullptr);
    EXPECT_EQ(local_rank_hint(), 5);
    ScopedEnv no_ompi("OMPI_COMM_WORLD_LOCAL_RANK", nullptr);
    EXPECT_EQ(local_rank_hint(), 0);
  }
  ScopedEnv bad("SLURM_LOCALID", "x1");
  EXPECT_THROW(local_rank_hint(), ConfigError);
}

TEST(Gpu, DeviceNamesParse) {
  EXPECT_TRUE(device_parse("cpu").is_cpu());
  EXPECT_TRUE(device_parse("cuda").is_cuda());
  EXPECT_FALSE(device_parse("cuda").has_index());
  EXPECT_EQ(device_parse("cuda:3").index(), 3);
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "CPU"}) EXPECT_THROW(device_parse(bad), ConfigError) << bad;
}

TEST(Gpu, BindLocalGpuThrowsAConfigErrorWithoutAGpu) {
  if (gpu_device_count() > 0) GTEST_SKIP() << "a GPU is visible";
  try {
    bind_local_gpu(0);
    FAIL() << "bind_local_gpu returned without a GPU";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
  EXPECT_EQ(gpu_peak_memory_bytes(at::Device(at::kCPU)), -1);
  gpu_synchronize(at::Device(at::kCPU));  // a no-op on the CPU
}

TEST(Gpu, CudaModelMatchesTheCpuModel) {
  if (gpu_device_count() == 0) GTEST_SKIP() << "no GPU";
  auto comm = comm_local();
  ModelOptions cuda;
  cuda.device = bind_local_gpu(0);
  Model gpu = Model::load(test::hf_fixture("llama"), *comm, cuda);
  Model cpu = Model::load(test::hf_fixture("llama"), *comm, ModelOptions{});
  auto [tokens, segments] = test::pack(test::golden_sequences("llama"));
  const at::Tensor on_gpu = test::all_logits(gpu, tokens, segments);
  EXPECT_TRUE(on_gpu.is_cuda());
  const double diff = (on_gpu.cpu() - test::all_logits(cpu, tokens, segments)).abs().max().item<double>();
  std::printf("max |cuda - cpu| = %.3g\n", diff);
  EXPECT_LT(diff, 1e-3);  // TF32 may be off or on; sdpa reorders the softmax sums
}

TEST(BenchPrefill, RunsARandomShapeOnTheCpuAndRefusesBadChoices) {
  const test::CommandResult ok =
      test::run_fssl("bench prefill --shape tiny --device cpu --threads 1 --sequences 2 --length 40 --repeats 1 --json");
  EXPECT_EQ(ok.code, 0) << ok.output;
  EXPECT_NE(ok.output.find("\"tokens_per_s\""), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("\"threads\": 1"), std::string::npos) << ok.output;
  EXPECT_EQ(test::run_fssl("bench prefill --device cpu --threads 1").code, kExitInput);  // no --model / --shape
  EXPECT_EQ(test::run_fssl("bench prefill --shape tiny --device tpu").code, kExitInput);
  if (gpu_device_count() == 0) {
    const test::CommandResult cuda = test::run_fssl("bench prefill --shape tiny --device cuda");
    EXPECT_EQ(cuda.code, kExitInput) << cuda.output;
    EXPECT_NE(cuda.output.find("--device cuda"), std::string::npos) << cuda.output;
  }
}

}  // namespace
}  // namespace fssl
