// Model::random and model_shape (model.h): random weights drawn on the model's device, no files,
// for benchmarks of shapes too large to write and read back as safetensors.
#include <ATen/ATen.h>

#include <cmath>

#include "fssl/log.h"
#include "fssl/model_init.h"
#include "model/impl.h"

namespace fssl {
namespace {

// Draws this rank's weights from one generator in a fixed order (the order of the fields).
struct Drawer {
  at::Generator gen;
  at::TensorOptions f32;
  at::ScalarType dtype;

  // [shape] with entries N(mean, std^2), drawn in float32 on the device, then converted.
  at::Tensor normal(at::IntArrayRef shape, double mean, double std) {
    return at::randn(shape, gen, f32).mul_(std).add_(mean).to(dtype);
  }
  // A weight matrix [out, in] whose global fan-in is fan_in: unit-gain init keeps activations O(1).
  at::Tensor matrix(std::int64_t out, std::int64_t in, std::int64_t fan_in, double gain = 1.0) {
    return normal({out, in}, 0.0, gain / std::sqrt(static_cast<double>(fan_in)));
  }
};

// A generator for `device` seeded with (seed, tp rank), leaving the global default untouched.
at::Generator seeded_generator(at::Device device, std::uint64_t seed, int tp_rank) {
  at::Generator gen = at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(tp_rank));
  return gen;
}

ModelConfig llama3_shape(std::int64_t layers, std::int64_t hidden, std::int64_t head_dim, std::int64_t inter,
                         double rope_factor, bool tied) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = 128256;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.n_layers = layers;
  c.n_heads = 32;
  c.n_kv_heads = 8;
  c.head_dim = head_dim;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  c.rope_scaling.type = RopeScaling::Type::kLlama3;
  c.rope_scaling.factor = rope_factor;
  c.rope_scaling.low_freq_factor = 1.0;
  c.rope_scaling.high_freq_factor = 4.0;
  c.rope_scaling.original_max_position_embeddings = 8192;
  c.tie_word_embeddings = tied;
  return c;
}

}  // namespace

ModelConfig model_shape(const std::string& name) {
  if (name == "llama-8b") return llama3_shape(32, 4096, 128, 14336, 8.0, false);
  if (name == "llama-1b") return llama3_shape(16, 2048, 64, 8192, 32.0, true);
  if (name == "tiny" || name == "small" || name == "medium") {
    ModelInitOptions o;
    o.arch = "llama";
    o.preset = name;
    return model_init_config(o);
  }
  FSSL_THROW(ConfigError, "--shape {}: unknown (tiny, small, medium, llama-1b, llama-8b)", name);
}

Model Model::random(const ModelConfig& c, Communicator& comm, const ModelOptions& options, std::uint64_t seed) {
  model_check_options(options);
  auto m = std::make_unique<Impl>();
  model_layout(*m, c, comm, options, "random " + c.architecture);
  Drawer d{seeded_generator(options.device, seed, m->tp_rank),
           at::TensorOptions().dtype(at::kFloat).device(options.device), options.compute_dtype};
  const std::int64_t hid = c.hidden_size, hd = c.head_dim, q_out = m->hq * hd, kv_out = m->hk * hd;
  const double residual = 1.0 / std::sqrt(2.0 * static_cast<double>(c.n_layers));
  const double head_std = 4.0 / std::sqrt(static_cast<double>(hid));
  auto vocab_rows = [&](double std) {  // zero rows past the vocabulary, as load pads them
    at::Tensor rows = d.normal({m->vocab.size, hid}, 0.0, std);
    if (m->vocab.valid < m->vocab.size) rows.narrow(0, m->vocab.valid, m->vocab.size - m->vocab.valid).zero_();
    return rows;
  };
  m->embed = vocab_rows(c.tie_word_embeddings ? head_std : 1.0);
  m->lm_head = c.tie_word_embeddings ? m->embed : vocab_rows(head_std);
  m->final_norm = d.normal({hid}, 1.0, 0.1);
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    LayerWeights w;
    w.input_norm = d.normal({hid}, 1.0, 0.1);
    w.post_norm = d.normal({hid}, 1.0, 0.1);
    w.qkv_w = d.matrix(q_out + 2 * kv_out, hid, hid);
    if (c.attention_bias) w.qkv_b = d.normal({q_out + 2 * kv_out}, 0.0, 0.1);
    w.o_w = d.matrix(hid, q_out, c.n_heads * hd, residual);
    if (c.o_proj_bias) w.o_b = d.normal({hid}, 0.0, 0.1);
    if (c.qk_norm) {
      w.q_norm = d.normal({hd}, 1.0, 0.1);
      w.k_norm = d.normal({hd}, 1.0, 0.1);
    }
    if (c.sparse_layer(i)) {  // the router whole, every expert's slice (model/moe.cpp)
      w.router_w = d.matrix(c.n_experts, hid, hid);
      for (std::int64_t e = 0; e < c.n_experts; ++e) {
        w.expert_gate_up.push_back(d.matrix(2 * m->moe_local, hid, hid));
        w.expert_down.push_back(d.matrix(hid, m->moe_local, c.moe_intermediate_size, residual));
      }
      m->layers.push_back(std::move(w));
      continue;
    }
    w.gate_up_w = d.matrix(2 * m->inter_local, hid, hid);
    w.down_w = d.matrix(hid, m->inter_local, c.intermediate_size, residual);
    if (c.mlp_bias) {
      w.gate_up_b = d.normal({2 * m->inter_local}, 0.0, 0.1);
      w.down_b = d.normal({hid}, 0.0, 0.1);
    }
    m->layers.push_back(std::move(w));
  }
  model_finish(*m);
  FSSL_LOG_DEBUG("random {}: {} layers, hidden {}, TP rank {}/{} on {}", c.architecture, c.n_layers, hid, m->tp_rank,
                 m->tp_size, options.device.str());
  return Model(std::move(m));
}

}  // namespace fssl
