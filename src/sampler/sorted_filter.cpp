// SGLang's seeded torch sampler filters (sampler.h, 3' and 4'; python/sglang/srt/layers/sampler.py,
// top_k_top_p_min_p_sampling_from_probs_torch): probs sorted descending, the ranks from k on
// zeroed, then the ranks whose exclusive cumulative sum exceeds top_p. Both filters keep a prefix
// of the sorted order, so one sort of the gathered row gives the ranks and the kept count.
#include "sampler/sorted_filter.h"

#include <limits>

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Sorted {
  at::Tensor values;  // [n, W] the gathered row, descending
  at::Tensor order;   // [n, W] int64: gathered column of each sorted position
};

// W = t * Vp columns in global id order; a stable descending sort keeps equal values in id order,
// as SGLang's GPU sort does for the vocabulary's row sizes (docs/sampler-spec.md §8).
Sorted sort_rows(const at::Tensor& s, Communicator& comm) {
  auto [values, order] = all_gather_columns(s.contiguous(), comm).sort(/*stable=*/true, 1, /*descending=*/true);
  return {values, order};
}

at::Tensor ranks_of(const Sorted& sorted, std::int64_t vp, Communicator& comm) {
  const at::Tensor positions = at::arange(sorted.order.size(1), at::kLong).expand_as(sorted.order);
  const at::Tensor rank = at::empty_like(sorted.order).scatter_(1, sorted.order, positions);
  return rank.narrow(1, static_cast<std::int64_t>(comm.rank()) * vp, vp).contiguous();
}

}  // namespace

at::Tensor sampler_sort_ranks(const at::Tensor& scaled, Communicator& comm) {
  return ranks_of(sort_rows(scaled, comm), scaled.size(1), comm);
}

at::Tensor sorted_filter(const at::Tensor& s, const SamplerParams& p, Communicator& comm) {
  const Sorted sorted = sort_rows(s, comm);
  const std::int64_t width = sorted.values.size(1);
  // pi over the whole row in float64 (SGLang: float32 softmax, then a float32 cumulative sum whose
  // rounding fssl does not model; they differ only for a boundary within ~1e-7 of top_p).
  const at::Tensor v = sorted.values.to(at::kDouble);
  const at::Tensor top = v.select(1, 0).unsqueeze(1);
  const at::Tensor e = (v - top).exp();
  const at::Tensor pi = e / e.sum(1, /*keepdim=*/true);
  at::Tensor keep = sorted.values != kNegInf;  // padding and earlier filters never come back
  if (p.top_k > 0 && p.top_k < width) keep.narrow(1, p.top_k, width - p.top_k).fill_(false);
  if (p.top_p < 1.0f) keep.logical_and_((pi.cumsum(1) - pi).le(static_cast<double>(p.top_p)));
  keep.select(1, 0).fill_(true);  // the largest token always survives (its exclusive mass is 0)
  const at::Tensor kept = keep.sum(1, /*keepdim=*/true, at::kLong);  // a prefix: its length
  const at::Tensor rank = ranks_of(sorted, s.size(1), comm);
  return s.masked_fill(rank >= kept, kNegInf);
}

}  // namespace fssl
