// Model::Impl: this rank's weight shards and the TP layout (private to model_*.cpp).
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
};

struct Model::Impl {
  ModelConfig config;
  ModelOptions options;
  Communicator* comm = nullptr;       // not owned; outlives the model
  int tp_rank = 0, tp_size = 1;
  std::int64_t hq = 0, hk = 0;        // query / kv heads on this rank
  std::int64_t inter_local = 0;
  std::int64_t vocab_begin = 0, vocab_shard = 0, vocab_valid = 0;
  at::Tensor embed;                   // [Vp, hidden] rows [vocab_begin, +Vp), zero-padded
  at::Tensor lm_head;                 // [Vp, hidden], same rows (shares storage with embed if tied)
  at::Tensor final_norm;              // [hidden]
  at::Tensor inv_freq;                // [head_dim / 2] float32, RoPE frequencies after scaling
  std::vector<LayerWeights> layers;
};

// RoPE inverse frequencies exactly as transformers computes them (float32), with llama3 or
// linear scaling applied.
at::Tensor rope_inv_freq(const ModelConfig& config);

}  // namespace fssl
