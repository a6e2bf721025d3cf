// Tensor parallelism over MPI: a TP group of all ranks reproduces TP = 1 logits within 1e-5,
// including vocabularies not divisible by the group size (padded columns never win) and kv-head
// replication (Qwen3 fixture: 1 kv head); the cross-rank argmax equals the TP = 1 argmax; KV-cache
// decode works under TP.
#include <gtest/gtest.h>

#include "model_test_util.h"

namespace fssl {
namespace {

class TensorParallel : public ::testing::TestWithParam<const char*> {};

TEST_P(TensorParallel, ShardedLogitsEqualTp1) {
  const std::string name = GetParam();
  MpiComm world;
  auto group = comm_mpi(world);
  auto local = comm_local();
  Model tp = Model::load(test::hf_fixture(name), *group, ModelOptions{});
  Model single = Model::load(test::hf_fixture(name), *local, ModelOptions{});
  auto [tokens, segments] = test::pack(test::golden_sequences(name));
  c10::NoGradGuard no_grad;
  at::Tensor shard = tp.logits_shard(tp.forward_hidden(tokens, segments));     // [T, Vp]
  at::Tensor reference = test::all_logits(single, tokens, segments);           // [T, V]
  const std::int64_t V = tp.config().vocab_size, Vp = tp.vocab_shard().size;
  // Gather only to check: [t * T, Vp] -> [T, t * Vp]; columns past V must be padding (-inf).
  at::Tensor gathered = group->all_gather(shard.contiguous());
  at::Tensor full = at::cat(gathered.split(tokens.size(0), 0), 1);
  EXPECT_TRUE(full.narrow(1, V, full.size(1) - V).isneginf().all().item<bool>());
  const double max_diff = (full.narrow(1, 0, V) - reference).abs().max().item<double>();
  if (world.rank() == 0) std::printf("[%s] TP=%d vs TP=1: max |diff| = %.3g (V=%lld, Vp=%lld)\n", name.c_str(),
                                     world.world_size(), max_diff, static_cast<long long>(V), static_cast<long long>(Vp));
  EXPECT_LT(max_diff, 1e-5);
  // Scalar reduction instead of a gather: local max with global index, then MAX-with-index.
  auto [values, index] = shard.max(1);
  at::Tensor global_index = index + tp.vocab_shard().begin;
  group->all_reduce_argmax(values, global_index);
  EXPECT_TRUE(at::equal(global_index, reference.argmax(1)));
}

INSTANTIATE_TEST_SUITE_P(Hf, TensorParallel, ::testing::Values("llama", "qwen2", "qwen3", "qwen3-moe", "mixtral"));

TEST(CommMpi, ArgmaxTiesGoToTheSmallestIndexOnAnyRankCount) {
  MpiComm world;
  auto comm = comm_mpi(world);
  // Row 0: every rank offers 5.0 at index 100 - rank: the smallest index (100 - (t - 1)) wins.
  // Row 1: rank r offers r, so the last rank wins with its index.
  at::Tensor values = at::tensor(std::vector<float>{5.0f, static_cast<float>(world.rank())});
  at::Tensor indices = at::tensor(std::vector<std::int64_t>{100 - world.rank(), 10 * world.rank()});
  comm->all_reduce_argmax(values, indices);
  EXPECT_EQ(indices[0].item<std::int64_t>(), 100 - (world.world_size() - 1));
  EXPECT_EQ(values[1].item<float>(), static_cast<float>(world.world_size() - 1));
  EXPECT_EQ(indices[1].item<std::int64_t>(), 10 * (world.world_size() - 1));
  at::Tensor sum = at::full({3}, static_cast<double>(world.rank() + 1), at::kDouble);
  comm->all_reduce_sum(sum);
  EXPECT_EQ(sum[2].item<double>(), world.world_size() * (world.world_size() + 1) / 2.0);
}

TEST(TensorParallelDecode, KvCacheUnderTpEqualsPrefill) {
  MpiComm world;
  auto group = comm_mpi(world);
  Model tp = Model::load(test::hf_fixture("llama"), *group, ModelOptions{});
  const test::GoldenSequence seq = test::golden_sequences("llama")[2];  // 13 tokens
  c10::NoGradGuard no_grad;
  KvCache cache = tp.kv_cache_new();
  tp.forward_hidden(seq.input_ids.narrow(0, 0, 6), {{0, 6, &cache}});
  at::Tensor last;
  for (std::int64_t i = 6; i < seq.input_ids.size(0); ++i) {
    last = tp.logits_shard(tp.forward_hidden(seq.input_ids.narrow(0, i, 1), {{0, 1, &cache}}));
  }
  at::Tensor prefill = tp.logits_shard(tp.forward_hidden(seq.input_ids, {{0, seq.input_ids.size(0), nullptr}}));
  EXPECT_LT((last - prefill.narrow(0, prefill.size(0) - 1, 1)).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace fssl
