// SGLang's seeded torch sampler filters (sampler.h, 3' and 4'; python/sglang/srt/layers/sampler.py,
// top_k_top_p_min_p_sampling_from_probs_torch): probs sorted descending, the ranks from k on
// zeroed, then the ranks whose exclusive cumulative sum exceeds top_p. Both filters keep a prefix
// of the sorted order, so the ranks and the kept count come from one partial sort of the gathered
// row: its first M positions, enough to hold the kept set and, for noise keys, every token the
// margin model can still admit (a band below the kept set's smallest key), found by top-k of
// growing width (a full sort only for rows whose band spans most of the vocabulary).
#include "sampler/sorted_filter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr std::int64_t kLow32 = 0xffffffff;

struct Prefix {
  at::Tensor col;       // [M] int64: gathered column at each sorted position
  std::int64_t kept;    // K <= M: the filters keep positions [0, K)
};

// One gathered row [W] of keys. A composite int64 (order-preserving key bits, then the smaller
// column first) makes every entry distinct, so top-k gives the stable descending order.
Prefix prefix_of(const at::Tensor& row, const SamplerParams& p, double band_logits) {
  const std::int64_t width = row.size(0);
  const at::Tensor key = (row + 0.0f).contiguous();  // -0 sorts with +0, as their probabilities do
  at::Tensor bits = key.view(at::kInt).to(at::kLong);
  bits = at::where(bits < 0, bits.bitwise_xor(std::int64_t{0x7fffffff}), bits);  // monotone in the float value
  const at::Tensor composite = bits * (std::int64_t{1} << 32) + (kLow32 - at::arange(width, at::kLong));
  // pi over the whole row in float64, from the key as the server's softmax saw it (SGLang: float32
  // softmax, then a float32 cumulative sum whose rounding fssl does not model; they differ only for
  // a boundary within ~1e-7 of top_p).
  const double top = key.max().item<double>();
  const double log_z = top + std::log((key.to(at::kDouble) - top).exp().sum().item<double>());
  // In key units, with a logit of slack for the bfloat16 rounding of sort_bf16 keys.
  const double band = band_logits > 0.0 ? (band_logits + 1.0) / static_cast<double>(p.temperature) : 0.0;
  for (std::int64_t m = std::min<std::int64_t>(width, 256);; m = m < 4096 ? std::min<std::int64_t>(width, 4096) : width) {
    const at::Tensor col = kLow32 - std::get<0>(composite.topk(m)).bitwise_and(kLow32);
    const at::Tensor sorted = key.index_select(0, col).to(at::kDouble);
    std::int64_t kept = (sorted != -std::numeric_limits<double>::infinity()).sum().item<std::int64_t>();
    if (p.top_k > 0) kept = std::min<std::int64_t>(kept, p.top_k);
    if (p.top_p < 1.0f) {
      const at::Tensor pi = (sorted - log_z).exp();
      const at::Tensor over = ((pi.cumsum(0) - pi) > static_cast<double>(p.top_p)).nonzero();
      if (over.size(0) > 0) kept = std::min(kept, over[0][0].item<std::int64_t>());
    }
    kept = std::max<std::int64_t>(kept, 1);  // the largest token always survives
    const bool band_inside =
        kept < m && (band == 0.0 || sorted[m - 1].item<double>() < sorted[kept - 1].item<double>() - band);
    if (m == width || band_inside) return {col, kept};
  }
}

// Per row: every local column's rank (the prefix length M beyond the prefix) and the kept count.
std::pair<at::Tensor, at::Tensor> ranks_and_kept(const at::Tensor& key, const SamplerParams& p, double band_logits,
                                                 Communicator& comm) {
  const at::Tensor all = all_gather_columns(key.contiguous(), comm);  // [n, W]: column c is global id c
  const std::int64_t n = all.size(0), vp = key.size(1);
  at::Tensor rank = at::empty({n, vp}, at::kLong);
  at::Tensor kept = at::empty({n, 1}, at::kLong);
  for (std::int64_t r = 0; r < n; ++r) {
    const Prefix prefix = prefix_of(all[r], p, band_logits);
    const std::int64_t m = prefix.col.size(0);
    at::Tensor row_rank = at::full({all.size(1)}, m, at::kLong);
    row_rank.index_put_({prefix.col}, at::arange(m, at::kLong));
    rank[r].copy_(row_rank.narrow(0, static_cast<std::int64_t>(comm.rank()) * vp, vp));
    kept[r][0] = prefix.kept;
  }
  return {rank, kept};
}

}  // namespace

at::Tensor sampler_sort_key(const at::Tensor& logits, const SamplerParams& p) {
  // The server divides its logits, bfloat16 values where its lm_head ran in bfloat16, by T in float32.
  const at::Tensor held = p.sort_bf16 ? logits.to(at::kBFloat16).to(at::kFloat) : logits;
  return held / p.temperature;
}

at::Tensor sampler_sort_ranks(const at::Tensor& key, const SamplerParams& params, double band_logits,
                              Communicator& comm) {
  return ranks_and_kept(key, params, band_logits, comm).first;
}

at::Tensor sorted_filter(const at::Tensor& s, const at::Tensor& key, const SamplerParams& p, Communicator& comm) {
  const auto [rank, kept] = ranks_and_kept(key, p, 0.0, comm);  // the kept prefix is all the filter needs
  return s.masked_fill(rank >= kept, kNegInf);
}

}  // namespace fssl
