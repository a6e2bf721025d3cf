// config.json -> ModelConfig, refusing what fssl does not replay faithfully.
#include "fssl/model_config.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fssl/error.h"

namespace fssl {
namespace {

using nlohmann::json;

struct Reader {
  const json& j;
  const std::string& path;

  template <typename T>
  T get(const char* key) const {
    FSSL_CHECK(j.contains(key) && !j[key].is_null(), ModelError, "{}: missing field '{}'", path, key);
    try {
      return j[key].get<T>();
    } catch (const json::exception& e) {
      FSSL_THROW(ModelError, "{}: field '{}' has the wrong type: {}", path, key, e.what());
    }
  }
  template <typename T>
  T get_or(const char* key, T fallback) const {
    return j.contains(key) && !j[key].is_null() ? get<T>(key) : fallback;
  }
};

// `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5) as RopeScaling.
RopeScaling parse_rope_scaling(const json& j, const std::string& path) {
  RopeScaling r;
  const char* key = j.contains("rope_scaling") && !j["rope_scaling"].is_null() ? "rope_scaling" : "rope_parameters";
  if (!j.contains(key) || j[key].is_null()) return r;
  const json& s = j[key];
  FSSL_CHECK(s.is_object(), ModelError, "{}: field '{}' must be an object", path, key);
  Reader rs{s, path};
  const std::string type = s.contains("rope_type") ? rs.get<std::string>("rope_type") : rs.get_or<std::string>("type", "default");
  if (type == "default") return r;
  if (type == "linear") {
    r.type = RopeScaling::Type::kLinear;
    r.factor = rs.get<double>("factor");
  } else if (type == "llama3") {
    r.type = RopeScaling::Type::kLlama3;
    r.factor = rs.get<double>("factor");
    r.low_freq_factor = rs.get<double>("low_freq_factor");
    r.high_freq_factor = rs.get<double>("high_freq_factor");
    r.original_max_position_embeddings = rs.get<double>("original_max_position_embeddings");
    FSSL_CHECK(r.high_freq_factor > r.low_freq_factor, ModelError,
               "{}: rope_scaling.high_freq_factor must exceed low_freq_factor", path);
  } else {
    FSSL_THROW(ModelError, "{}: field 'rope_scaling.rope_type' = '{}' is not supported (default, linear, llama3)", path,
               type);
  }
  return r;
}

// Qwen3MoeConfig's expert fields, with its defaults where a key is absent.
void parse_experts(const Reader& r, const json& j, const std::string& path, ModelConfig& c) {
  // Published checkpoints write num_experts; transformers 5 saves it as num_local_experts.
  c.n_experts = r.get_or<std::int64_t>("num_experts", r.get_or<std::int64_t>("num_local_experts", 128));
  c.experts_per_token = r.get_or<std::int64_t>("num_experts_per_tok", 8);
  c.moe_intermediate_size = r.get_or<std::int64_t>("moe_intermediate_size", 768);
  c.norm_topk_prob = r.get_or<bool>("norm_topk_prob", false);
  c.decoder_sparse_step = r.get_or<std::int64_t>("decoder_sparse_step", 1);
  c.mlp_only_layers = r.get_or<std::vector<std::int64_t>>("mlp_only_layers", {});
  FSSL_CHECK(c.n_experts >= 0 && c.decoder_sparse_step >= 1 && c.moe_intermediate_size > 0, ModelError,
             "{}: num_experts, decoder_sparse_step and moe_intermediate_size must be positive", path);
  FSSL_CHECK(c.n_experts == 0 || (c.experts_per_token >= 1 && c.experts_per_token <= c.n_experts), ModelError,
             "{}: field 'num_experts_per_tok' = {} must lie in [1, num_experts = {}]", path, c.experts_per_token,
             c.n_experts);
  // Features of other MoE families fssl does not replay: refuse by name, never replay wrongly.
  for (const char* key : {"shared_expert_intermediate_size", "n_shared_experts", "topk_group", "n_group",
                          "scoring_func", "kv_lora_rank"}) {
    FSSL_CHECK(!j.contains(key) || j[key].is_null() || (j[key].is_number() && j[key].get<double>() == 0), ModelError,
               "{}: field '{}' (shared experts, grouped or sigmoid routing, MLA attention) is not supported", path,
               key);
  }
}

}  // namespace

bool ModelConfig::sparse_layer(std::int64_t layer) const {
  if (n_experts <= 0) return false;
  for (std::int64_t l : mlp_only_layers) {
    if (l == layer) return false;
  }
  return (layer + 1) % decoder_sparse_step == 0;
}

namespace {

// Parameters with `experts` of a sparse layer's experts counted (all, or the k a token uses).
std::int64_t count_parameters(const ModelConfig& c, std::int64_t experts) {
  const std::int64_t q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim, hid = c.hidden_size;
  std::int64_t total = c.vocab_size * hid * (c.tie_word_embeddings ? 1 : 2) + hid;
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    std::int64_t layer = hid * (q + 2 * kv) + q * hid + 2 * hid;
    if (c.attention_bias) layer += q + 2 * kv;
    if (c.qk_norm) layer += 2 * c.head_dim;
    layer += c.sparse_layer(i) ? c.n_experts * hid + experts * 3 * hid * c.moe_intermediate_size
                               : 3 * hid * c.intermediate_size;
    total += layer;
  }
  return total;
}

}  // namespace

std::int64_t ModelConfig::n_parameters() const { return count_parameters(*this, n_experts); }
std::int64_t ModelConfig::n_active_parameters() const { return count_parameters(*this, experts_per_token); }

ModelConfig ModelConfig::read(const std::string& path_or_dir) {
  const std::string path =
      std::filesystem::is_directory(path_or_dir) ? path_or_dir + "/config.json" : path_or_dir;
  std::ifstream in(path);
  FSSL_CHECK(in.good(), ModelError, "{}: cannot open model config", path);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    FSSL_THROW(ModelError, "{}: malformed JSON: {}", path, e.what());
  }
  FSSL_CHECK(j.is_object(), ModelError, "{}: config must be a JSON object", path);
  Reader r{j, path};
  ModelConfig c;
  const auto archs = r.get<std::vector<std::string>>("architectures");
  FSSL_CHECK(archs.size() == 1, ModelError, "{}: field 'architectures' must name exactly one architecture", path);
  c.architecture = archs[0];
  c.model_type = r.get_or<std::string>("model_type", "");
  if (c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM" ||
      c.architecture == "MixtralForCausalLM") {
    c.attention_bias = r.get_or<bool>("attention_bias", false);
    c.o_proj_bias = c.attention_bias;
    c.mlp_bias = r.get_or<bool>("mlp_bias", false);
  } else if (c.architecture == "Qwen2ForCausalLM") {
    c.attention_bias = true;  // Qwen2 hard-codes q/k/v biases and no o_proj bias
  } else if (c.architecture == "Qwen3ForCausalLM" || c.architecture == "Qwen3MoeForCausalLM") {
    c.attention_bias = r.get_or<bool>("attention_bias", false);
    c.o_proj_bias = c.attention_bias;
    c.qk_norm = true;
  } else {
    FSSL_THROW(ModelError,
               "{}: field 'architectures' = '{}' is not supported (LlamaForCausalLM, MistralForCausalLM, "
               "Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM)", path, c.architecture);
  }
  c.vocab_size = r.get<std::int64_t>("vocab_size");
  c.hidden_size = r.get<std::int64_t>("hidden_size");
  c.intermediate_size = r.get<std::int64_t>("intermediate_size");
  c.n_layers = r.get<std::int64_t>("num_hidden_layers");
  c.n_heads = r.get<std::int64_t>("num_attention_heads");
  c.n_kv_heads = r.get_or<std::int64_t>("num_key_value_heads", c.n_heads);
  FSSL_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 && c.n_layers > 0 && c.n_heads > 0 &&
                 c.n_kv_heads > 0, ModelError, "{}: sizes must be positive", path);
  FSSL_CHECK(c.n_heads % c.n_kv_heads == 0, ModelError,
             "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", path, c.n_heads, c.n_kv_heads);
  // Qwen3Config defaults head_dim to 128; the others (Qwen3-MoE too) derive it from the hidden size.
  c.head_dim = r.get_or<std::int64_t>("head_dim", c.architecture == "Qwen3ForCausalLM" ? 128
                                                                                    : c.hidden_size / c.n_heads);
  FSSL_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, ModelError, "{}: head_dim {} must be positive and even", path,
             c.head_dim);
  c.rms_norm_eps = r.get_or<double>("rms_norm_eps", 1e-6);
  c.rope_theta = r.get_or<double>("rope_theta", 10000.0);
  if (!j.contains("rope_theta") && j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    c.rope_theta = Reader{j["rope_parameters"], path}.get_or<double>("rope_theta", c.rope_theta);
  }
  c.rope_scaling = parse_rope_scaling(j, path);
  c.tie_word_embeddings = r.get_or<bool>("tie_word_embeddings", false);
  const std::string act = r.get_or<std::string>("hidden_act", "silu");
  FSSL_CHECK(act == "silu", ModelError, "{}: field 'hidden_act' = '{}' is not supported (silu)", path, act);
  if (c.architecture == "Qwen3MoeForCausalLM") parse_experts(r, j, path, c);
  if (c.architecture == "MixtralForCausalLM") {
    // MixtralConfig: every layer sparse, experts of width intermediate_size, top-k always
    // renormalised, the routing weights kept in float32 (MixtralTopKRouter does not cast back).
    c.n_experts = r.get_or<std::int64_t>("num_local_experts", 8);
    c.experts_per_token = r.get_or<std::int64_t>("num_experts_per_tok", 2);
    c.moe_intermediate_size = c.intermediate_size;
    c.norm_topk_prob = true;
    c.moe_weights_fp32 = true;
    c.expert_names = ModelConfig::ExpertNames::kMixtral;
    FSSL_CHECK(c.n_experts >= 1 && c.experts_per_token >= 1 && c.experts_per_token <= c.n_experts, ModelError,
               "{}: num_experts_per_tok {} must lie in [1, num_local_experts = {}]", path, c.experts_per_token,
               c.n_experts);
    // MixtralConfig's default window is None (full attention).
    c.sliding_window = r.get_or<std::int64_t>("sliding_window", 0);
    FSSL_CHECK(c.sliding_window >= 0, ModelError, "{}: field 'sliding_window' must be >= 1 or null", path);
  } else if (c.architecture == "MistralForCausalLM") {
    // MistralConfig's default window is 4096 when the key is absent; null means full attention.
    c.sliding_window = j.contains("sliding_window") ? r.get_or<std::int64_t>("sliding_window", 0) : 4096;
    FSSL_CHECK(c.sliding_window >= 0, ModelError, "{}: field 'sliding_window' must be >= 1 or null", path);
  } else if (r.get_or<bool>("use_sliding_window", false) && j.contains("sliding_window") &&
             !j["sliding_window"].is_null()) {
    // Qwen2/Qwen3 windows apply only to some layers (max_window_layers): refuse, never replay wrongly.
    FSSL_THROW(ModelError, "{}: field 'use_sliding_window' = true is not supported for {}", path, c.architecture);
  }
  return c;
}

}  // namespace fssl
