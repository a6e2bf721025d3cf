// model_fingerprint (docs/model-format.md "Model fingerprint (v1)").
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fssl/digest.h"
#include "fssl/error.h"
#include "fssl/model_weights.h"

namespace fssl {
namespace {

constexpr const char* kFingerprintKeys[] = {
    "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps", "rope_theta",
    "rope_scaling", "rope_parameters", "tie_word_embeddings", "attention_bias", "mlp_bias", "use_sliding_window", "sliding_window"};
constexpr const char* kExpertKeys[] = {"num_experts", "num_local_experts", "num_experts_per_tok", "moe_intermediate_size",
                                       "norm_topk_prob", "decoder_sparse_step", "mlp_only_layers"};

std::string canonical(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
      return buf;
    }
    case nlohmann::json::value_t::string: return v.get<std::string>();
    case nlohmann::json::value_t::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + canonical(v[i]);
      return out + "]";
    }
    case nlohmann::json::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, item] : v.items()) {  // nlohmann objects iterate in key order
        out += (first ? "" : ";") + key + ":" + canonical(item);
        first = false;
      }
      return out + "}";
    }
    default: return "null";
  }
}

}  // namespace

std::string model_fingerprint(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  std::ifstream in(config_path);
  FSSL_CHECK(in.good(), ModelError, "{}: cannot open model config", config_path);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(ModelError, "{}: malformed JSON: {}", config_path, e.what());
  }
  Sha256 h;
  h.update("fssl-model-v1\n");
  for (const char* key : kFingerprintKeys) {
    h.update(std::string(key) + "=" + (config.contains(key) ? canonical(config[key]) : "null") + "\n");
  }
  // Routing changes the computation without changing a tensor (top-k, renormalisation, which
  // layers are sparse): a config with experts adds these lines; dense fingerprints are unchanged.
  if (config.contains("num_experts") || config.contains("num_local_experts")) {
    for (const char* key : kExpertKeys) {
      h.update(std::string(key) + "=" + (config.contains(key) ? canonical(config[key]) : "null") + "\n");
    }
  }
  const WeightFiles files = WeightFiles::open(dir);
  for (const TensorView* t : files.all()) {
    std::string shape;
    for (std::size_t i = 0; i < t->shape.size(); ++i) shape += (i ? "," : "") + std::to_string(t->shape[i]);
    const Digest32 bytes = sha256(std::string_view(reinterpret_cast<const char*>(t->data), t->n_bytes));
    h.update(t->name + "\n" + safetensors_dtype_name(t->dtype) + "\n" + shape + "\n" + hex_encode(bytes) + "\n");
  }
  return hex_encode(h.finish());
}

}  // namespace fssl
