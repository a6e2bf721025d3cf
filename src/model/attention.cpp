// Causal attention of one packed segment (model/impl.h): transformers' eager path on the CPU,
// at::scaled_dot_product_attention (flash / memory-efficient kernels) on CUDA where libtorch has it.
#include <torch/version.h>

#include <limits>

#include "model/impl.h"

// at::scaled_dot_product_attention arrived in torch 2.0; Debian's libtorch 1.13 lacks it.
#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
#define FSSL_HAVE_SDPA 1
#else
#define FSSL_HAVE_SDPA 0
#endif

namespace fssl {
namespace {

// Query heads are grouped by the kv head they share ([hk, group * L, d]), so grouped-query
// attention needs no copies of k and v: head h uses kv head h / group, as transformers' repeat_kv.
at::Tensor attend_eager(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                        double scale) {
  const std::int64_t L = q.size(0), S = k.size(0), hk = k.size(1), group = q.size(1) / hk, d = q.size(2);
  at::Tensor qg = q.permute({1, 0, 2}).reshape({hk, group * L, d});
  at::Tensor scores = at::matmul(qg, k.permute({1, 2, 0})).mul_(scale);  // [hk, group * L, S]
  if (mask.defined()) scores.view({hk, group, L, S}).masked_fill_(mask, -std::numeric_limits<float>::infinity());
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  return at::matmul(probs, v.transpose(0, 1)).view({q.size(1), L, d}).transpose(0, 1).reshape({L, -1});
}

#if FSSL_HAVE_SDPA
// k, v are expanded to the query heads (transformers' repeat_kv, as its sdpa path does): the
// flash and memory-efficient kernels then apply with or without a mask, whatever the dtype.
// A plain causal segment goes in as is_causal (no mask tensor, the flash kernel's case); otherwise
// the explicit mask, inverted because sdpa's boolean mask marks the keys that are *kept*.
at::Tensor attend_sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& pattern,
                       double scale) {
  const std::int64_t L = q.size(0), S = k.size(0), hq = q.size(1), hk = k.size(1), d = q.size(2);
  auto heads = [&](const at::Tensor& x, std::int64_t length) {  // [length, h, d] -> [1, hq, length, d]
    at::Tensor t = x.permute({1, 0, 2});
    if (x.size(1) != hq) t = t.unsqueeze(1).expand({hk, hq / hk, length, d}).reshape({hq, length, d});
    return t.unsqueeze(0);
  };
  std::optional<at::Tensor> keep;
  if (pattern.mask.defined()) keep = pattern.mask.logical_not();
  at::Tensor out = at::scaled_dot_product_attention(heads(q, L).contiguous(), heads(k, S).contiguous(),
                                                    heads(v, S).contiguous(), keep, 0.0, pattern.causal, scale);
  return out.squeeze(0).transpose(0, 1).reshape({L, hq * d});  // [1, hq, L, d] -> [L, hq * d]
}
#endif

}  // namespace

AttentionMask attention_mask(std::int64_t L, std::int64_t S, std::int64_t n_cached, std::int64_t window,
                             at::Device device) {
  const bool windowed = window > 0 && S > window;
  if (L == 1 && !windowed) return {};
  if (FSSL_HAVE_SDPA && device.is_cuda() && n_cached == 0 && !windowed) return {at::Tensor(), true};
  at::Tensor ones = at::ones({L, S}, at::TensorOptions().dtype(at::kBool).device(device));
  at::Tensor mask = ones.triu(n_cached + 1);
  return {windowed ? mask.logical_or(ones.tril(n_cached - window)) : mask, false};
}

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& pattern,
                  double scale) {
#if FSSL_HAVE_SDPA
  if (q.is_cuda()) return attend_sdpa(q, k, v, pattern, scale);
#endif
  FSSL_ASSERT(!pattern.causal);  // only made for the sdpa path
  return attend_eager(q, k, v, pattern.mask, scale);
}

}  // namespace fssl
