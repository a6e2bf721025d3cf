// A Llama-family causal LM (dense, or Qwen3-MoE's mixture of experts) replayed by libtorch,
// tensor-parallel over a Communicator.
//
// Tensor parallelism over t ranks (rank r), Megatron-style; every rank of a group holds 1/t:
//   embedding   vocab-parallel: rows [r*Vp, r*Vp + Vp) of E, Vp = ceil(V / t), zero-padded;
//               lookup outside the shard gives 0, then all-reduce(sum).
//   q, k, v     column-parallel: Y = X [A_1 ... A_t], rank r holds the heads [r*h/t, (r+1)*h/t).
//               When t > kv heads, kv heads are replicated (t must be a multiple of kv heads);
//               rank r uses kv head r / (t / kv_heads), the one its query heads attend with.
//   o_proj      row-parallel: Y = sum_r X_r B_r, partial products all-reduced, bias added after.
//   gate, up    column-parallel over intermediate_size / t;  down  row-parallel + all-reduce.
//   norms       replicated.   lm_head  vocab-parallel like the embedding (tied or not): each rank
//               returns its [n, Vp] logit shard; padded columns (global id >= V) are -inf so they
//               never win an argmax. The vocabulary is never gathered.
//   experts     (Qwen3-MoE sparse layers, src/model/moe.cpp) the router [E, hidden] replicated, so
//               every rank routes every token identically (same logits, float32 softmax, at::topk
//               tie rule, renormalisation); each expert sliced like the dense MLP: gate/up rows and
//               down columns [r*I/t, (r+1)*I/t) of its moe_intermediate_size I. Each rank runs the
//               chosen experts on their tokens (one matmul per expert and batch), weights them and
//               sums in expert order; the partial sums are all-reduced once per layer, like the
//               dense MLP's. Slicing over expert parallelism: no token exchange, balanced work
//               whatever the routing, any E (not only multiples of t); it costs t times the
//               per-expert matmul launches, which only tiny experts feel.
// Requirements: t divides num_attention_heads, intermediate_size (when a layer is dense) and
// moe_intermediate_size (when one is sparse), and either divides or is a multiple of
// num_key_value_heads.
//
// Numerics follow Hugging Face transformers' eager implementation (fp32 RMSNorm, rotate_half RoPE
// with fp32 cos/sin, softmax in fp32). Weights are converted at load to the compute dtype.
// Threads: intra-op threads are set from ModelOptions::n_threads (libtorch's default here is 1).
//
// Device: every weight, position, mask and activation lives on ModelOptions::device. On the CPU
// attention is transformers' eager path (pinned by tests/data/hf); on CUDA it is
// at::scaled_dot_product_attention (flash / memory-efficient kernels) when libtorch has it
// (torch >= 2), the eager path otherwise. With TP > 1 on CUDA the communicator must reduce CUDA
// tensors (gpu.h comm_for_device). Placement happens here, at load; callers pick the device
// (gpu.h bind_local_gpu) and may pass tokens from either side.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "fssl/comm.h"
#include "fssl/model_config.h"
#include "fssl/model_weights.h"  // model_fingerprint
#include "fssl/vocab_shard.h"

namespace fssl {

struct ModelOptions {
  at::Device device = at::kCPU;               // where weights and activations live: CPU or cuda:N
  at::ScalarType compute_dtype = at::kFloat;  // kFloat or kBFloat16 on CPU (no fp16 matmul there);
                                              // kFloat, kBFloat16 or kHalf on CUDA
  int n_threads = 0;                          // > 0: at::set_num_threads(n_threads) at load
  bool check_finite = true;                   // refuse NaN/Inf weights at load
  // > 0: round the linear weights (q/k/v/o, gate/up/down) to this many bits per group of
  // quantize_group inputs (src/model/tensors.cpp quantize_groups), a stand-in for a quantized deployment.
  int quantize_bits = 0;
  std::int64_t quantize_group = 32;
};

// This rank's keys and values of one sequence: per layer [n_kv_local, length, head_dim].
struct KvCache {
  std::vector<at::Tensor> k, v;
  std::int64_t length = 0;
};

// One sequence of a packed batch: tokens [start, start + length). With a cache the sequence
// continues it: positions start at cache->length and the new keys/values are appended.
struct Segment {
  std::int64_t start = 0;
  std::int64_t length = 0;
  KvCache* cache = nullptr;
};

class Model {
 public:
  // Collective over `comm`: each rank reads and keeps its shard of the weights. Throws
  // ModelError naming the file and tensor for missing files or tensors, wrong shapes, non-float
  // dtypes and NaN/Inf weights, ConfigError when the TP size does not fit the architecture.
  // The weights are read on the host one tensor at a time and moved to options.device.
  static Model load(const std::string& dir, Communicator& comm, const ModelOptions& options);
  // Collective over `comm` like load, without files: random weights of `config` drawn directly
  // on options.device (for benchmarks of large shapes: an 8B model in bf16 is 16 GB). Matrices
  // are N(0, 1 / fan_in) (o_proj / down_proj scaled by 1 / sqrt(2 layers)), norms N(1, 0.1^2),
  // the embedding N(0, 1), the LM head N(0, 16 / hidden), as model_init.h; each rank draws its
  // own shard, so weights depend on (config, seed, tp_rank, tp_size, device) and a TP = 2 model
  // is not a TP = 1 model cut in two. Throws ConfigError like load.
  static Model random(const ModelConfig& config, Communicator& comm, const ModelOptions& options,
                      std::uint64_t seed);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelConfig& config() const;
  const ModelOptions& options() const;
  Communicator& communicator() const;  // the TP group the model was loaded on
  int tp_rank() const;
  int tp_size() const;
  const VocabShard& vocab_shard() const;  // this rank's logit columns (fssl/vocab_shard.h)

  // Collective. tokens: [T] int64 (ids < V), segments cover [0, T) in order.
  // Returns the final-normed hidden states [T, hidden_size] in the compute dtype, replicated.
  at::Tensor forward_hidden(const at::Tensor& tokens, const std::vector<Segment>& segments);
  // Not collective. hidden [n, hidden_size] -> logit shard [n, Vp] float32. Callers pass rows in
  // chunks to bound memory (never all positions of a long batch at once).
  at::Tensor logits_shard(const at::Tensor& hidden);
  KvCache kv_cache_new() const;

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The architecture of a named shape for Model::random (Llama layout):
//   tiny, small, medium   model_init.h's presets (2-8 layers, V 512-32000): CPU tests and demos
//   llama-1b              Llama-3.2-1B: 16 layers, hidden 2048, 32 / 8 heads, head_dim 64,
//                         intermediate 8192, V 128,256, tied embeddings
//   llama-8b              Llama-3.1-8B: 32 layers, hidden 4096, 32 / 8 heads, head_dim 128,
//                         intermediate 14336, V 128,256, rope theta 500000 with llama3 scaling
// Throws ConfigError naming the known shapes.
ModelConfig model_shape(const std::string& name);

}  // namespace fssl
