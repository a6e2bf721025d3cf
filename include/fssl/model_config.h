// Architecture of a Hugging Face Llama-family model, parsed from its config.json.
// Supported: LlamaForCausalLM (rope_scaling llama3 / linear / none), MistralForCausalLM (dense,
// sliding window), Qwen2ForCausalLM (q/k/v bias), Qwen3ForCausalLM (q_norm / k_norm),
// Qwen3MoeForCausalLM (Qwen3 attention, sparse mixture-of-experts MLP: model.h "experts"),
// MixtralForCausalLM (Mistral attention, every layer sparse). Both config
// layouts are read: transformers 4 (top-level rope_theta / rope_scaling) and transformers 5
// (rope_parameters). Defaults follow transformers' config classes where a key is absent.
// Unsupported architectures or config values raise ModelError naming the file and the field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fssl {

struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double original_max_position_embeddings = 8192;       // llama3
};

struct ModelConfig {
  std::string architecture;      // "LlamaForCausalLM", ...
  std::string model_type;        // "llama", "mistral", "qwen2", "qwen3"
  std::int64_t vocab_size = 0;   // V: rows of embed_tokens and lm_head
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t n_layers = 0;
  std::int64_t n_heads = 0;
  std::int64_t n_kv_heads = 0;
  std::int64_t head_dim = 0;     // config head_dim, else hidden_size / n_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;   // q/k/v (and for Llama o_proj) biases; Qwen2 always has q/k/v bias
  bool o_proj_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;          // Qwen3
  std::int64_t sliding_window = 0;  // Mistral: query i attends keys j with i - window < j <= i; 0 = none
  // Mixture of experts (Qwen3-MoE): n_experts routed SwiGLU experts of width moe_intermediate_size,
  // experts_per_token chosen per token by a softmax router; dense layers keep intermediate_size.
  std::int64_t n_experts = 0;              // 0: dense model
  std::int64_t experts_per_token = 0;      // k
  std::int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = false;             // renormalise the k chosen probabilities to sum 1
  std::int64_t decoder_sparse_step = 1;    // layer i is sparse when (i + 1) % step == 0 ...
  std::vector<std::int64_t> mlp_only_layers;  // ... and i is not listed here
  bool moe_weights_fp32 = false;           // Mixtral: routing weights stay float32 (the product is float32)
  // Tensor names: Qwen3-MoE mlp.gate / mlp.experts.{e}.gate_proj|up_proj|down_proj; Mixtral
  // block_sparse_moe.gate / block_sparse_moe.experts.{e}.w1|w3|w2 (gate, up, down).
  enum class ExpertNames { kQwen, kMixtral };
  ExpertNames expert_names = ExpertNames::kQwen;

  // Whether layer i's MLP is the sparse expert block (transformers' Qwen3MoeDecoderLayer rule).
  bool sparse_layer(std::int64_t layer) const;

  // Parameters of the model (embeddings counted once when tied), and those one token uses (its
  // k experts instead of all of them; equal for a dense model).
  std::int64_t n_parameters() const;
  std::int64_t n_active_parameters() const;
  // Parses DIR/config.json (or the file itself). Throws ModelError.
  static ModelConfig read(const std::string& path);
};

}  // namespace fssl
