// Model::load: reads this rank's shard of every weight, checks shapes, dtypes and finiteness,
// and places it on the model's device; the TP layout and option checks Model::random shares.
#include <ATen/Parallel.h>
#include <fmt/ranges.h>

#include "fssl/log.h"
#include "model/impl.h"
#include "fssl/model_weights.h"

namespace fssl {
namespace {

struct Loader {
  const WeightFiles& files;
  const ModelConfig& c;
  const ModelOptions& options;

  // The tensor `name`, checked against `shape`, rows/cols [begin, begin + length) of dim `dim`
  // (length < 0: all), converted to the compute dtype and copied out of the mapping onto the
  // device, one tensor at a time so that host memory stays bounded by the largest tensor.
  at::Tensor get(const std::string& name, std::vector<std::int64_t> shape, int dim = 0, std::int64_t begin = 0,
                 std::int64_t length = -1) const {
    const TensorView& view = files.get(name);
    const std::string& file = files.file_of(name);
    FSSL_CHECK(view.shape == shape, ModelError, "{}: tensor '{}' has shape [{}], the config implies [{}]", file, name,
               fmt::join(view.shape, ", "), fmt::join(shape, ", "));
    at::Tensor t = tensor_view(view, file);
    if (length >= 0) t = t.narrow(dim, begin, length);
    if (options.device.is_cpu()) {
      t = t.to(options.compute_dtype).contiguous().clone();
    } else {  // copy the (possibly strided) slice to the device, convert there
      t = t.to(options.device, options.compute_dtype).contiguous();
    }
    if (options.check_finite) {
      FSSL_CHECK(at::isfinite(t).all().item<bool>(), ModelError,
                 "{}: tensor '{}' holds NaN or Inf values (corrupt or diverged weights)", file, name);
    }
    return t;
  }
  bool has(const std::string& name) const { return files.find(name) != nullptr; }
};

std::string layer_name(std::int64_t i, const char* rest) { return fmt::format("model.layers.{}.{}", i, rest); }

// Vocab-parallel rows of an embedding-shaped tensor, zero-padded to Vp rows.
at::Tensor vocab_rows(const Loader& l, const std::string& name, const Model::Impl& m) {
  const ModelConfig& c = l.c;
  at::Tensor rows = l.get(name, {c.vocab_size, c.hidden_size}, 0, m.vocab.begin, m.vocab.valid);
  if (m.vocab.valid == m.vocab.size) return rows;
  at::Tensor padded = at::zeros({m.vocab.size, c.hidden_size}, rows.options());
  padded.narrow(0, 0, m.vocab.valid).copy_(rows);
  return padded;
}

// A sparse layer: the router whole, and this rank's slice of every expert's intermediate columns
// (as the dense MLP is sliced), from the per-expert tensors published checkpoints hold.
void load_experts(const Loader& l, const Model::Impl& m, std::int64_t i, LayerWeights& w) {
  const ModelConfig& c = l.c;
  const std::int64_t hid = c.hidden_size, inter = c.moe_intermediate_size, il = m.moe_local, ib = m.tp_rank * il;
  const bool mixtral = c.expert_names == ModelConfig::ExpertNames::kMixtral;
  const std::string block = mixtral ? "block_sparse_moe." : "mlp.";
  const char* gate = mixtral ? "w1" : "gate_proj";
  const char* up = mixtral ? "w3" : "up_proj";
  const char* down = mixtral ? "w2" : "down_proj";
  w.router_w = l.get(layer_name(i, (block + "gate.weight").c_str()), {c.n_experts, hid});
  for (std::int64_t e = 0; e < c.n_experts; ++e) {
    const std::string p = fmt::format("{}experts.{}.", block, e);
    w.expert_gate_up.push_back(at::cat({l.get(layer_name(i, (p + gate + ".weight").c_str()), {inter, hid}, 0, ib, il),
                                        l.get(layer_name(i, (p + up + ".weight").c_str()), {inter, hid}, 0, ib, il)}));
    w.expert_down.push_back(l.get(layer_name(i, (p + down + ".weight").c_str()), {hid, inter}, 1, ib, il));
  }
}

void load_layer(const Loader& l, Model::Impl& m, std::int64_t i) {
  const ModelConfig& c = l.c;
  const std::int64_t hd = c.head_dim, hid = c.hidden_size;
  // Which kv heads this rank holds: its share, or (t > kv heads) the one replica it needs.
  const std::int64_t kv_begin = c.n_kv_heads >= m.tp_size ? m.tp_rank * m.hk : m.tp_rank / (m.tp_size / c.n_kv_heads);
  const std::int64_t q_begin = m.tp_rank * m.hq;
  LayerWeights w;
  w.input_norm = l.get(layer_name(i, "input_layernorm.weight"), {hid});
  w.post_norm = l.get(layer_name(i, "post_attention_layernorm.weight"), {hid});
  at::Tensor q = l.get(layer_name(i, "self_attn.q_proj.weight"), {c.n_heads * hd, hid}, 0, q_begin * hd, m.hq * hd);
  at::Tensor k = l.get(layer_name(i, "self_attn.k_proj.weight"), {c.n_kv_heads * hd, hid}, 0, kv_begin * hd, m.hk * hd);
  at::Tensor v = l.get(layer_name(i, "self_attn.v_proj.weight"), {c.n_kv_heads * hd, hid}, 0, kv_begin * hd, m.hk * hd);
  w.qkv_w = at::cat({q, k, v}, 0);
  if (c.attention_bias) {
    w.qkv_b = at::cat({l.get(layer_name(i, "self_attn.q_proj.bias"), {c.n_heads * hd}, 0, q_begin * hd, m.hq * hd),
                       l.get(layer_name(i, "self_attn.k_proj.bias"), {c.n_kv_heads * hd}, 0, kv_begin * hd, m.hk * hd),
                       l.get(layer_name(i, "self_attn.v_proj.bias"), {c.n_kv_heads * hd}, 0, kv_begin * hd, m.hk * hd)});
  }
  w.o_w = l.get(layer_name(i, "self_attn.o_proj.weight"), {hid, c.n_heads * hd}, 1, q_begin * hd, m.hq * hd);
  if (c.o_proj_bias) w.o_b = l.get(layer_name(i, "self_attn.o_proj.bias"), {hid});
  if (c.qk_norm) {
    w.q_norm = l.get(layer_name(i, "self_attn.q_norm.weight"), {hd});
    w.k_norm = l.get(layer_name(i, "self_attn.k_norm.weight"), {hd});
  }
  if (c.sparse_layer(i)) {
    load_experts(l, m, i, w);
    m.layers.push_back(std::move(w));
    return;
  }
  const std::int64_t ib = m.tp_rank * m.inter_local, il = m.inter_local, inter = c.intermediate_size;
  w.gate_up_w = at::cat({l.get(layer_name(i, "mlp.gate_proj.weight"), {inter, hid}, 0, ib, il),
                         l.get(layer_name(i, "mlp.up_proj.weight"), {inter, hid}, 0, ib, il)});
  w.down_w = l.get(layer_name(i, "mlp.down_proj.weight"), {hid, inter}, 1, ib, il);
  if (c.mlp_bias) {
    w.gate_up_b = at::cat({l.get(layer_name(i, "mlp.gate_proj.bias"), {inter}, 0, ib, il),
                           l.get(layer_name(i, "mlp.up_proj.bias"), {inter}, 0, ib, il)});
    w.down_b = l.get(layer_name(i, "mlp.down_proj.bias"), {hid});
  }
  m.layers.push_back(std::move(w));
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

void model_check_options(const ModelOptions& o) {
  if (o.device.is_cpu()) {
    FSSL_CHECK(o.compute_dtype == at::kFloat || o.compute_dtype == at::kBFloat16, ConfigError,
               "compute dtype must be float32 or bfloat16 on CPU");
  } else {
    FSSL_CHECK(o.device.is_cuda(), ConfigError, "model device {}: cpu or cuda only", o.device.str());
    FSSL_CHECK(o.compute_dtype == at::kFloat || o.compute_dtype == at::kBFloat16 || o.compute_dtype == at::kHalf,
               ConfigError, "compute dtype must be float32, bfloat16 or float16 on CUDA");
  }
  if (o.n_threads > 0) at::set_num_threads(o.n_threads);
}

void model_layout(Model::Impl& m, const ModelConfig& c, Communicator& comm, const ModelOptions& options,
                  const std::string& where) {
  m.config = c;
  m.options = options;
  m.comm = &comm;
  m.tp_rank = comm.rank();
  m.tp_size = comm.world_size();
  const int t = m.tp_size;
  FSSL_CHECK(c.n_heads % t == 0, ConfigError, "{}: tensor-parallel size {} does not divide num_attention_heads {}",
             where, t, c.n_heads);
  FSSL_CHECK(c.n_kv_heads % t == 0 || t % c.n_kv_heads == 0, ConfigError,
             "{}: tensor-parallel size {} neither divides nor is a multiple of num_key_value_heads {}", where, t,
             c.n_kv_heads);
  bool any_dense = false;
  for (std::int64_t i = 0; i < c.n_layers; ++i) any_dense = any_dense || !c.sparse_layer(i);
  FSSL_CHECK(!any_dense || c.intermediate_size % t == 0, ConfigError,
             "{}: tensor-parallel size {} does not divide intermediate_size {}", where, t, c.intermediate_size);
  FSSL_CHECK(c.n_experts == 0 || c.moe_intermediate_size % t == 0, ConfigError,
             "{}: tensor-parallel size {} does not divide moe_intermediate_size {}", where, t,
             c.moe_intermediate_size);
  m.moe_local = c.n_experts > 0 ? c.moe_intermediate_size / t : 0;
  m.hq = c.n_heads / t;
  m.hk = c.n_kv_heads >= t ? c.n_kv_heads / t : 1;
  m.inter_local = c.intermediate_size / t;
  m.vocab = VocabShard::of_rank(c.vocab_size, m.tp_rank, t);
}

void model_finish(Model::Impl& m) {
  if (m.options.quantize_bits > 0) {  // quantize_groups refuses bit widths outside [2, 16]
    for (LayerWeights& w : m.layers) {
      std::vector<at::Tensor*> weights{&w.qkv_w, &w.o_w};
      if (w.gate_up_w.defined()) weights.insert(weights.end(), {&w.gate_up_w, &w.down_w});
      for (at::Tensor& e : w.expert_gate_up) weights.push_back(&e);
      for (at::Tensor& e : w.expert_down) weights.push_back(&e);
      for (at::Tensor* weight : weights) {
        *weight = quantize_groups(*weight, m.options.quantize_bits, m.options.quantize_group).to(m.options.device);
      }
    }
  }
  m.inv_freq = rope_inv_freq(m.config).to(m.options.device);  // computed on the CPU like transformers
}

Model Model::load(const std::string& dir, Communicator& comm, const ModelOptions& options) {
  model_check_options(options);
  auto m = std::make_unique<Impl>();
  model_layout(*m, ModelConfig::read(dir), comm, options, dir);
  const ModelConfig& c = m->config;
  const WeightFiles files = WeightFiles::open(dir);
  const Loader l{files, c, options};
  m->embed = vocab_rows(l, "model.embed_tokens.weight", *m);
  m->lm_head = c.tie_word_embeddings ? m->embed : vocab_rows(l, "lm_head.weight", *m);
  m->final_norm = l.get("model.norm.weight", {c.hidden_size});
  for (std::int64_t i = 0; i < c.n_layers; ++i) load_layer(l, *m, i);
  model_finish(*m);
  FSSL_LOG_DEBUG("{}: loaded {}, {} layers, TP rank {}/{} on {}", dir, c.architecture, c.n_layers, m->tp_rank,
                 m->tp_size, options.device.str());
  return Model(std::move(m));
}

const ModelConfig& Model::config() const { return impl_->config; }
const ModelOptions& Model::options() const { return impl_->options; }
Communicator& Model::communicator() const { return *impl_->comm; }
int Model::tp_rank() const { return impl_->tp_rank; }
int Model::tp_size() const { return impl_->tp_size; }
const VocabShard& Model::vocab_shard() const { return impl_->vocab; }

}  // namespace fssl
