// The sparse expert block (model/impl.h moe_block; model.h "experts"), as transformers'
// Qwen3MoeSparseMoeBlock and MixtralSparseMoeBlock compute it: router logits in the compute dtype, softmax in float32 over
// all experts, top-k of the probabilities (at::topk: the same tie rule as torch.topk), optional
// renormalisation of the k, the weights cast back to the compute dtype; then for every expert that
// received tokens, in ascending expert order, its SwiGLU on exactly those tokens (one matmul per
// expert and batch, not one per token), scaled by each token's routing weight and index-added into
// the output in the compute dtype, so the accumulation order matches transformers'.
#include "model/impl.h"

namespace fssl {

at::Tensor moe_block(const Model::Impl& m, const LayerWeights& w, const at::Tensor& h) {
  const ModelConfig& c = m.config;
  const std::int64_t k = c.experts_per_token, il = m.moe_local;
  const at::Tensor router_logits = at::linear(h, w.router_w);
  const at::Tensor probs = at::softmax(router_logits, -1, at::kFloat);
  auto [top, chosen] = at::topk(probs, k, -1);
  if (c.norm_topk_prob) top = top / top.sum(-1, true);
  // Qwen3-MoE casts the weights to the compute dtype; Mixtral keeps them float32, so its
  // weighted expert outputs are float32 products (type promotion) rounded at the index_add.
  if (!c.moe_weights_fp32) top = top.to(h.scalar_type());
  // Token slots grouped by expert: a stable sort of the flat [T * k] choices keeps each expert's
  // slots in (token, slot) order; transformers takes them in (slot, token) order, which only
  // permutes the rows of one expert's matmul and the targets of distinct index_add rows.
  const at::Tensor flat = chosen.flatten();
  const at::Tensor order = std::get<1>(at::sort(flat, /*stable=*/true, 0, false));
  const at::Tensor counts = at::bincount(flat, {}, c.n_experts).cpu();
  const at::Tensor weights = top.flatten();
  at::Tensor out = at::zeros_like(h);
  std::int64_t offset = 0;
  const std::int64_t* count = counts.data_ptr<std::int64_t>();
  for (std::int64_t e = 0; e < c.n_experts; ++e) {
    if (count[e] == 0) continue;
    const at::Tensor slots = order.narrow(0, offset, count[e]);
    offset += count[e];
    const at::Tensor tokens = at::floor_divide(slots, k);
    const at::Tensor gate_up = at::linear(h.index_select(0, tokens), w.expert_gate_up[static_cast<std::size_t>(e)]);
    const at::Tensor act = at::silu(gate_up.narrow(1, 0, il)).mul_(gate_up.narrow(1, il, il));
    const at::Tensor y = at::linear(act, w.expert_down[static_cast<std::size_t>(e)]) *
                         weights.index_select(0, slots).unsqueeze(1);
    out.index_add_(0, tokens, y.to(out.scalar_type()));
  }
  return out;
}

}  // namespace fssl
