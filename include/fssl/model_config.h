// Architecture of a Hugging Face Llama-family model, parsed from its config.json.
// Supported: LlamaForCausalLM (rope_scaling llama3 / linear / none), MistralForCausalLM (dense,
// sliding window), Qwen2ForCausalLM (q/k/v bias), Qwen3ForCausalLM (q_norm / k_norm). Both config
// layouts are read: transformers 4 (top-level rope_theta / rope_scaling) and transformers 5
// (rope_parameters). Defaults follow transformers' config classes where a key is absent.
// Unsupported architectures or config values raise ModelError naming the file and the field.
#pragma once

#include <cstdint>
#include <string>

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

  // Parameters of the model (embeddings counted once when tied).
  std::int64_t n_parameters() const;
  // Parses DIR/config.json (or the file itself). Throws ModelError.
  static ModelConfig read(const std::string& path);
};

}  // namespace fssl
