// `fssl model init`: deterministic random Llama / Qwen2 / Qwen3 / Qwen3-MoE checkpoints (model_init.h).
#include "fssl/model_init.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "fssl/digest.h"
#include "fssl/error.h"
#include "fssl/safetensors.h"

namespace fssl {
namespace {

struct Init {
  float mean = 0, std = 1;
};

// Standard normal draws, reproducible across standard libraries (std::normal_distribution is not).
std::vector<float> normal_tensor(std::uint64_t seed, const std::string& name, std::size_t n, Init init) {
  const Digest32 d = sha256(std::to_string(seed) + "/" + name);
  std::uint64_t stream_seed = 0;
  std::memcpy(&stream_seed, d.data(), sizeof stream_seed);
  std::mt19937_64 rng(stream_seed);
  auto uniform = [&] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform())), phi = 2.0 * M_PI * uniform();
    out[i] = static_cast<float>(init.mean + init.std * r * std::cos(phi));
    if (i + 1 < n) out[i + 1] = static_cast<float>(init.mean + init.std * r * std::sin(phi));
  }
  return out;
}

// Round-to-nearest-even float32 -> bfloat16 bits (what torch's .to(bfloat16) does).
std::vector<std::uint16_t> to_bf16(const std::vector<float>& values) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    bits += 0x7fff + ((bits >> 16) & 1);
    out[i] = static_cast<std::uint16_t>(bits >> 16);
  }
  return out;
}

nlohmann::json config_json(const ModelConfig& c, const std::string& arch, const std::string& dtype) {
  nlohmann::json j = {{"architectures", {c.architecture}},
                      {"model_type", c.model_type},
                      {"vocab_size", c.vocab_size},
                      {"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.n_layers},
                      {"num_attention_heads", c.n_heads},
                      {"num_key_value_heads", c.n_kv_heads},
                      {"head_dim", c.head_dim},
                      {"hidden_act", "silu"},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"rope_theta", c.rope_theta},
                      {"max_position_embeddings", 4096},
                      {"tie_word_embeddings", c.tie_word_embeddings},
                      {"torch_dtype", dtype == "bf16" ? "bfloat16" : "float32"},
                      {"bos_token_id", 1},
                      {"eos_token_id", 2},
                      {"initializer_range", 0.02}};
  if (arch == "llama") {
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
  } else {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    if (arch == "qwen3" || arch == "qwen3-moe") j["attention_bias"] = false;
  }
  if (arch == "mixtral") {  // as the published Mixtral configs write them
    j["num_local_experts"] = c.n_experts;
    j["num_experts_per_tok"] = c.experts_per_token;
    j["sliding_window"] = nullptr;
    j.erase("use_sliding_window");
  } else if (c.n_experts > 0) {  // as the published Qwen3-MoE configs write them
    j["num_experts"] = c.n_experts;
    j["num_experts_per_tok"] = c.experts_per_token;
    j["moe_intermediate_size"] = c.moe_intermediate_size;
    j["norm_topk_prob"] = c.norm_topk_prob;
    j["decoder_sparse_step"] = c.decoder_sparse_step;
    j["mlp_only_layers"] = c.mlp_only_layers;
  }
  return j;
}

}  // namespace

ModelConfig model_init_config(const ModelInitOptions& o) {
  ModelConfig c;
  if (o.preset == "tiny") {
    c.n_layers = 2, c.hidden_size = 64, c.n_heads = 4, c.n_kv_heads = 2, c.intermediate_size = 128, c.vocab_size = 512;
  } else if (o.preset == "small") {
    c.n_layers = 4, c.hidden_size = 256, c.n_heads = 8, c.n_kv_heads = 4, c.intermediate_size = 688, c.vocab_size = 4096;
  } else if (o.preset == "medium") {
    c.n_layers = 8, c.hidden_size = 512, c.n_heads = 8, c.n_kv_heads = 4, c.intermediate_size = 1376,
    c.vocab_size = 32000;
  } else {
    FSSL_THROW(ConfigError, "--preset {}: unknown (tiny, small, medium)", o.preset);
  }
  c.head_dim = c.hidden_size / c.n_heads;
  c.rms_norm_eps = 1e-5;
  if (o.arch == "llama") {
    c.architecture = "LlamaForCausalLM", c.model_type = "llama", c.rope_theta = 500000.0;
  } else if (o.arch == "qwen2") {
    c.architecture = "Qwen2ForCausalLM", c.model_type = "qwen2", c.rope_theta = 1000000.0;
    c.attention_bias = true, c.tie_word_embeddings = true, c.rms_norm_eps = 1e-6;
  } else if (o.arch == "qwen3" || o.arch == "qwen3-moe") {
    c.architecture = "Qwen3ForCausalLM", c.model_type = "qwen3", c.rope_theta = 1000000.0, c.qk_norm = true;
    c.rms_norm_eps = 1e-6;
  } else if (o.arch == "mixtral") {
    // Mixtral-8x7B's routing (top-2 of 8, renormalised, float32 weights); experts a quarter of the
    // dense width, every layer sparse, full attention.
    c.architecture = "MixtralForCausalLM", c.model_type = "mixtral", c.rope_theta = 1000000.0;
    c.intermediate_size /= 4;
    c.n_experts = 8, c.experts_per_token = 2, c.moe_intermediate_size = c.intermediate_size;
    c.norm_topk_prob = true, c.moe_weights_fp32 = true, c.expert_names = ModelConfig::ExpertNames::kMixtral;
  } else {
    FSSL_THROW(ConfigError, "--arch {}: unknown (llama, qwen2, qwen3, qwen3-moe, mixtral)", o.arch);
  }
  if (o.arch == "qwen3-moe") {
    // Qwen3-30B-A3B's routing (top-8 of 128, renormalised) scaled down: 8 experts, top-2, each a
    // quarter of the dense width, every layer sparse.
    c.architecture = "Qwen3MoeForCausalLM", c.model_type = "qwen3_moe";
    c.n_experts = 8, c.experts_per_token = 2, c.moe_intermediate_size = c.intermediate_size / 4;
    c.norm_topk_prob = true, c.decoder_sparse_step = 1;
  }
  return c;
}

void model_init(const ModelInitOptions& o, const std::string& dir) {
  FSSL_CHECK(o.dtype == "f32" || o.dtype == "bf16", ConfigError, "--dtype {}: unknown (f32, bf16)", o.dtype);
  const ModelConfig c = model_init_config(o);
  const std::int64_t hid = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
  // Scales keep activations O(1) and logits informative (std ~ 4 whatever the width), so that
  // sampled tokens have real margins, as trained models do.
  const float linear = 1.0f, residual = static_cast<float>(1.0 / std::sqrt(2.0 * static_cast<double>(c.n_layers)));
  const float head_std = static_cast<float>(4.0 / std::sqrt(static_cast<double>(hid)));
  struct Spec { std::string name; std::vector<std::int64_t> shape; Init init; };
  std::vector<Spec> specs;
  auto matrix = [&](const std::string& name, std::int64_t out, std::int64_t in, float gain) {
    specs.push_back({name, {out, in}, {0, gain / std::sqrt(static_cast<float>(in))}});
  };
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, hid}, {0, c.tie_word_embeddings ? head_std : 1.0f}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, hid}, {0, head_std}});
  specs.push_back({"model.norm.weight", {hid}, {1, 0.1f}});
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    specs.push_back({p + "input_layernorm.weight", {hid}, {1, 0.1f}});
    specs.push_back({p + "post_attention_layernorm.weight", {hid}, {1, 0.1f}});
    matrix(p + "self_attn.q_proj.weight", c.n_heads * hd, hid, linear);
    matrix(p + "self_attn.k_proj.weight", c.n_kv_heads * hd, hid, linear);
    matrix(p + "self_attn.v_proj.weight", c.n_kv_heads * hd, hid, linear);
    matrix(p + "self_attn.o_proj.weight", hid, c.n_heads * hd, residual);
    if (c.attention_bias) {
      specs.push_back({p + "self_attn.q_proj.bias", {c.n_heads * hd}, {0, 0.1f}});
      specs.push_back({p + "self_attn.k_proj.bias", {c.n_kv_heads * hd}, {0, 0.1f}});
      specs.push_back({p + "self_attn.v_proj.bias", {c.n_kv_heads * hd}, {0, 0.1f}});
    }
    if (c.qk_norm) {
      specs.push_back({p + "self_attn.q_norm.weight", {hd}, {1, 0.1f}});
      specs.push_back({p + "self_attn.k_norm.weight", {hd}, {1, 0.1f}});
    }
    if (c.sparse_layer(i)) {  // the router and every expert, named as published checkpoints name them
      const bool mixtral = c.expert_names == ModelConfig::ExpertNames::kMixtral;
      const std::string block = p + (mixtral ? "block_sparse_moe." : "mlp.");
      matrix(block + "gate.weight", c.n_experts, hid, linear);
      for (std::int64_t e = 0; e < c.n_experts; ++e) {
        const std::string x = block + "experts." + std::to_string(e) + ".";
        matrix(x + (mixtral ? "w1" : "gate_proj") + ".weight", c.moe_intermediate_size, hid, linear);
        matrix(x + (mixtral ? "w3" : "up_proj") + ".weight", c.moe_intermediate_size, hid, linear);
        matrix(x + (mixtral ? "w2" : "down_proj") + ".weight", hid, c.moe_intermediate_size, residual);
      }
      continue;
    }
    matrix(p + "mlp.gate_proj.weight", inter, hid, linear);
    matrix(p + "mlp.up_proj.weight", inter, hid, linear);
    matrix(p + "mlp.down_proj.weight", hid, inter, residual);
  }
  std::vector<std::vector<float>> f32(specs.size());
  std::vector<std::vector<std::uint16_t>> bf16(specs.size());
  std::vector<TensorToWrite> tensors;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    std::size_t n = 1;
    for (std::int64_t d : specs[i].shape) n *= static_cast<std::size_t>(d);
    f32[i] = normal_tensor(o.seed, specs[i].name, n, specs[i].init);
    if (o.dtype == "bf16") {
      bf16[i] = to_bf16(f32[i]);
      tensors.push_back({specs[i].name, SafetensorsDtype::kBF16, specs[i].shape, bf16[i].data(), 2 * n});
    } else {
      tensors.push_back({specs[i].name, SafetensorsDtype::kF32, specs[i].shape, f32[i].data(), 4 * n});
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  FSSL_CHECK(!ec, ModelError, "{}: cannot create model directory: {}", dir, ec.message());
  safetensors_write(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  std::ofstream(dir + "/config.json") << config_json(c, o.arch, o.dtype).dump(2) << "\n";
  FSSL_CHECK(std::filesystem::exists(dir + "/config.json"), ModelError, "{}: cannot write config.json", dir);
}

}  // namespace fssl
