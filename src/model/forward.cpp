// Model forward: packed prefill / KV-cache decode over segments, tensor-parallel (model.h), on
// the model's device (attention itself in model/attention.cpp).
#include <cmath>
#include <limits>

#include "model/impl.h"

namespace fssl {
namespace {

// transformers' RMSNorm: normalise in float32, then weight * x cast back to the input dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor normed = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

at::Tensor rotate_half(const at::Tensor& x) {
  const std::int64_t half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

// x [T, heads, head_dim]; cos, sin [T, head_dim].
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1);
}

}  // namespace

at::Tensor rope_inv_freq(const ModelConfig& c) {
  const std::int64_t dim = c.head_dim;
  at::Tensor exponent = at::arange(0, dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(dim);
  at::Tensor inv_freq = at::reciprocal(at::pow(c.rope_theta, exponent));
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScaling::Type::kLinear) return inv_freq / s.factor;
  if (s.type != RopeScaling::Type::kLlama3) return inv_freq;
  // The same float32 operations, in the same order, as transformers' _compute_llama3_parameters.
  const double low_freq_wavelen = s.original_max_position_embeddings / s.low_freq_factor;
  const double high_freq_wavelen = s.original_max_position_embeddings / s.high_freq_factor;
  at::Tensor wavelen = at::reciprocal(inv_freq) * (2 * M_PI);
  at::Tensor llama = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  at::Tensor smooth = (at::reciprocal(wavelen) * s.original_max_position_embeddings - s.low_freq_factor) /
                      (s.high_freq_factor - s.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * llama / s.factor + smooth * llama;
  at::Tensor medium = at::logical_not(wavelen < high_freq_wavelen).logical_and(at::logical_not(wavelen > low_freq_wavelen));
  return at::where(medium, smoothed, llama);
}

at::Tensor Model::forward_hidden(const at::Tensor& tokens_in, const std::vector<Segment>& segments) {
  Impl& m = *impl_;
  const ModelConfig& c = m.config;
  const at::Device device = m.options.device;
  const at::Tensor tokens = tokens_in.to(device);  // no copy when already there
  const std::int64_t T = tokens.size(0), hd = c.head_dim;
  // Positions: each segment counts from its cache length.
  std::vector<std::int64_t> positions(static_cast<std::size_t>(T));
  std::int64_t covered = 0;
  for (const Segment& s : segments) {
    FSSL_CHECK(s.start == covered && s.length > 0, ReplayError, "segments must tile the batch in order");
    const std::int64_t first = s.cache ? s.cache->length : 0;
    for (std::int64_t i = 0; i < s.length; ++i) positions[static_cast<std::size_t>(s.start + i)] = first + i;
    covered += s.length;
  }
  FSSL_CHECK(covered == T, ReplayError, "segments cover {} of {} tokens", covered, T);
  at::Tensor pos = at::from_blob(positions.data(), {T}, at::kLong).to(at::kFloat).to(device);
  at::Tensor freqs = pos.unsqueeze(1) * m.inv_freq.unsqueeze(0);
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  at::Tensor cos = emb.cos().to(m.options.compute_dtype), sin = emb.sin().to(m.options.compute_dtype);

  // Vocab-parallel embedding: rows outside this rank's shard contribute zero.
  at::Tensor local = tokens - m.vocab.begin;
  at::Tensor x;
  if (m.tp_size == 1) {
    x = at::embedding(m.embed, tokens);
  } else {
    at::Tensor inside = (local >= 0).logical_and(local < m.vocab.valid);
    x = at::embedding(m.embed, local.clamp(0, m.vocab.size - 1)) * inside.unsqueeze(1).to(m.embed.scalar_type());
    m.comm->all_reduce_sum(x);
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<AttentionMask> masks;  // the same for every layer
  for (const Segment& s : segments) {
    const std::int64_t n_cached = s.cache ? s.cache->length : 0;
    masks.push_back(attention_mask(s.length, n_cached + s.length, n_cached, c.sliding_window, device));
  }
  for (std::size_t li = 0; li < m.layers.size(); ++li) {
    const LayerWeights& w = m.layers[li];
    at::Tensor h = rms_norm(x, w.input_norm, c.rms_norm_eps);
    at::Tensor qkv = w.qkv_b.defined() ? at::linear(h, w.qkv_w, w.qkv_b) : at::linear(h, w.qkv_w);
    at::Tensor q = qkv.narrow(1, 0, m.hq * hd).view({T, m.hq, hd});
    at::Tensor k = qkv.narrow(1, m.hq * hd, m.hk * hd).view({T, m.hk, hd});
    at::Tensor v = qkv.narrow(1, (m.hq + m.hk) * hd, m.hk * hd).view({T, m.hk, hd});
    if (c.qk_norm) {
      q = rms_norm(q, w.q_norm, c.rms_norm_eps);
      k = rms_norm(k, w.k_norm, c.rms_norm_eps);
    }
    q = apply_rope(q, cos, sin);
    k = apply_rope(k, cos, sin);
    std::vector<at::Tensor> outputs;
    outputs.reserve(segments.size());
    for (std::size_t si = 0; si < segments.size(); ++si) {
      const Segment& s = segments[si];
      at::Tensor ks = k.narrow(0, s.start, s.length), vs = v.narrow(0, s.start, s.length);
      if (s.cache != nullptr) {
        at::Tensor& ck = s.cache->k[li];
        at::Tensor& cv = s.cache->v[li];
        ck = ck.defined() ? at::cat({ck, ks}, 0) : ks.clone();
        cv = cv.defined() ? at::cat({cv, vs}, 0) : vs.clone();
        ks = ck;
        vs = cv;
      }
      outputs.push_back(attend(q.narrow(0, s.start, s.length), ks, vs, masks[si], scale));
    }
    at::Tensor attn = at::linear(outputs.size() == 1 ? outputs[0] : at::cat(outputs, 0), w.o_w);
    m.comm->all_reduce_sum(attn);
    if (w.o_b.defined()) attn = attn + w.o_b;
    x = x + attn;
    h = rms_norm(x, w.post_norm, c.rms_norm_eps);
    at::Tensor mlp;
    if (w.router_w.defined()) {
      mlp = moe_block(m, w, h);
    } else {
      at::Tensor gate_up = w.gate_up_b.defined() ? at::linear(h, w.gate_up_w, w.gate_up_b) : at::linear(h, w.gate_up_w);
      at::Tensor act = at::silu(gate_up.narrow(1, 0, m.inter_local)).mul_(gate_up.narrow(1, m.inter_local, m.inter_local));
      mlp = at::linear(act, w.down_w);
    }
    m.comm->all_reduce_sum(mlp);
    if (w.down_b.defined()) mlp = mlp + w.down_b;
    x = x + mlp;
  }
  for (const Segment& s : segments) {
    if (s.cache != nullptr) s.cache->length += s.length;
  }
  return rms_norm(x, m.final_norm, c.rms_norm_eps);
}

at::Tensor Model::logits_shard(const at::Tensor& hidden) {
  const Impl& m = *impl_;
  at::Tensor logits = at::linear(hidden.to(m.options.device), m.lm_head).to(at::kFloat);
  if (m.vocab.valid < m.vocab.size) {
    logits.narrow(1, m.vocab.valid, m.vocab.size - m.vocab.valid).fill_(-std::numeric_limits<float>::infinity());
  }
  return logits;
}

KvCache Model::kv_cache_new() const {
  KvCache cache;
  cache.k.resize(impl_->layers.size());
  cache.v.resize(impl_->layers.size());
  return cache;
}

}  // namespace fssl
