// Model::Impl: this rank's weight shards and the TP layout, and the helpers model/load.cpp,
// model/random.cpp, model/forward.cpp and model/attention.cpp share (private to model_*.cpp).
#pragma once

#include <ATen/ATen.h>

#include "fssl/model.h"

namespace fssl {

struct LayerWeights {
  at::Tensor input_norm, post_norm;  // [hidden]
  at::Tensor qkv_w;                  // [(hq + 2 hk) * head_dim, hidden], this rank's heads, fused
  at::Tensor qkv_b;                  // [(hq + 2 hk) * head_dim] or undefined
  at::Tensor o_w;                    // [hidden, hq * head_dim], columns of this rank's heads
  at::Tensor o_b;                    // [hidden] or undefined (added after the all-reduce)
  at::Tensor q_norm, k_norm;         // [head_dim] (Qwen3) or undefined
  at::Tensor gate_up_w;              // [2 * inter_local, hidden], gate rows then up rows
  at::Tensor gate_up_b;              // [2 * inter_local] or undefined
  at::Tensor down_w;                 // [hidden, inter_local]
  at::Tensor down_b;                 // [hidden] or undefined
  // Sparse layers (ModelConfig::sparse_layer) instead of the dense MLP above:
  at::Tensor router_w;                       // [E, hidden], every rank (routing is replicated)
  std::vector<at::Tensor> expert_gate_up;    // per expert [2 * moe_local, hidden], gate rows then up rows
  std::vector<at::Tensor> expert_down;       // per expert [hidden, moe_local]
};

struct Model::Impl {
  ModelConfig config;
  ModelOptions options;               // options.device holds every tensor below
  Communicator* comm = nullptr;       // not owned; outlives the model
  int tp_rank = 0, tp_size = 1;
  std::int64_t hq = 0, hk = 0;        // query / kv heads on this rank
  std::int64_t inter_local = 0;
  std::int64_t moe_local = 0;         // each expert's intermediate columns on this rank
  VocabShard vocab;                   // this rank's logit columns
  at::Tensor embed;                   // [Vp, hidden] rows [vocab.begin, +Vp), zero-padded
  at::Tensor lm_head;                 // [Vp, hidden], same rows (shares storage with embed if tied)
  at::Tensor final_norm;              // [hidden]
  at::Tensor inv_freq;                // [head_dim / 2] float32, RoPE frequencies after scaling
  std::vector<LayerWeights> layers;
};

// RoPE inverse frequencies exactly as transformers computes them (float32), with llama3 or
// linear scaling applied.
at::Tensor rope_inv_freq(const ModelConfig& config);

// Refuses a compute dtype the device cannot run (ConfigError) and sets the CPU thread count.
void model_check_options(const ModelOptions& options);

// A CPU tensor viewing (not owning) the mapped bytes of a safetensors tensor; valid while its
// WeightFiles live. Floating dtypes only (F32, BF16, F16, F64); others throw ModelError naming
// the tensor and `file` (src/model/tensors.cpp).
at::Tensor tensor_view(const TensorView& view, const std::string& file);

// Rounds a linear weight `w` [out, in] to `bits`-bit symmetric integers times an absmax scale per
// group of `group` consecutive inputs of a row (the last group of a row may be shorter), computed
// in float32 (round half to even); returns w's dtype. ConfigError for bits outside [2, 16].
// The simulator serves its quantized-deployment bug modes with it (ModelOptions::quantize_bits).
at::Tensor quantize_groups(const at::Tensor& w, int bits, std::int64_t group);

// Fills config, options, comm and the TP layout (heads, intermediate and vocab shards) of `m`.
// `where` names the model in errors (a directory or a shape). Throws ConfigError when the TP
// size does not fit the architecture.
void model_layout(Model::Impl& m, const ModelConfig& config, Communicator& comm, const ModelOptions& options,
                  const std::string& where);
// After the weights: optional quantization (ModelOptions::quantize_bits) and the RoPE
// frequencies, on the model's device.
void model_finish(Model::Impl& m);

// The sparse expert block of a layer on this rank's expert slices (src/model/moe.cpp): router,
// top-k, the chosen experts' SwiGLU weighted by their routing weights, summed; the partial sums of
// the slices are all-reduced over the TP group by the caller, as the dense MLP's are.
at::Tensor moe_block(const Model::Impl& m, const LayerWeights& w, const at::Tensor& h);

// Which keys each query of a segment sees. Query i sits at absolute position n_cached + i and
// sees keys j <= n_cached + i (and, with a sliding window, j > n_cached + i - window).
struct AttentionMask {
  at::Tensor mask;      // [L, S] bool on the model's device, true = masked; undefined: see `causal`
  bool causal = false;  // plain causal (no cache, no window) left to sdpa's is_causal (CUDA only)
};
// Undefined mask and !causal when nothing is masked (a decode step inside the window).
AttentionMask attention_mask(std::int64_t L, std::int64_t S, std::int64_t n_cached, std::int64_t window,
                             at::Device device);
// Causal attention of one segment: q [L, hq, d]; k, v [S = P + L, hk, d] (P cached positions).
// Returns [L, hq * d]. CPU tensors take transformers' eager path (fp32 softmax; the fixtures pin
// it); CUDA tensors take at::scaled_dot_product_attention where libtorch has it (torch >= 2).
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& pattern,
                  double scale);

}  // namespace fssl
