// Vocab-parallel min-p / top-k / top-p (sampler.h): only maxima, sums and short candidate lists
// cross ranks.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "fssl/sampler.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Global row maxima of x [n, Vp].
at::Tensor global_row_max(const at::Tensor& x, Communicator& comm) {
  at::Tensor m = std::get<0>(x.max(1)).contiguous();
  comm.all_reduce_max(m);
  return m;
}

// The k-th largest value of each row across ranks: every rank contributes its k largest.
at::Tensor global_kth_largest(const at::Tensor& s, std::int64_t k, Communicator& comm) {
  const std::int64_t n = s.size(0), local = std::min<std::int64_t>(k, s.size(1));
  at::Tensor top = at::full({n, k}, kNegInf, s.options());
  top.narrow(1, 0, local).copy_(std::get<0>(s.topk(local, 1)));
  at::Tensor all = comm.all_gather(top.contiguous());                 // [t * n, k]
  at::Tensor per_row = at::cat(all.split(n, 0), 1);                   // [n, t * k]
  return std::get<0>(per_row.topk(k, 1)).select(1, k - 1);
}

// Top-p boundary of one row: the smallest survivor value v such that the mass strictly above v
// is < p (everything below it is dropped). `row` [Vp] holds survivors (others -inf), with
// probabilities exp(s - log_norm). Ranks exchange their m largest survivors; a group of equal
// values is decided once no rank can hold an unseen value above it, else m doubles.
float top_p_boundary(const at::Tensor& row, float log_norm, float p, Communicator& comm) {
  const std::int64_t vp = row.size(0);
  for (std::int64_t m = std::min<std::int64_t>(256, vp);; m = std::min<std::int64_t>(2 * m, vp)) {
    at::Tensor gathered = comm.all_gather(std::get<0>(row.topk(m)).contiguous());  // [t * m], -inf padded
    // Unseen survivors of a rank are <= the last value it sent; -inf when it sent them all.
    const float unseen_max = m == vp ? kNegInf : gathered.view({-1, m}).select(1, m - 1).max().item<float>();
    at::Tensor values = std::get<0>(gathered.sort(0, /*descending=*/true));
    const float* v = values.data_ptr<float>();
    const std::int64_t total = values.size(0);
    double above = 0.0;  // mass of strictly larger survivors
    float boundary = kNegInf;
    std::int64_t i = 0;
    while (i < total && v[i] > unseen_max) {
      if (above >= p) return boundary;
      std::int64_t j = i;
      double group = 0.0;
      while (j < total && v[j] == v[i]) group += std::exp(static_cast<double>(v[j++]) - log_norm);
      boundary = v[i];
      above += group;
      i = j;
    }
    // Stopped at a value some rank may hide larger neighbours of: final only if already past p.
    if (above >= p || unseen_max == kNegInf) return boundary;
  }
}

}  // namespace

FilteredRows sampler_filter(const at::Tensor& logits, const SamplerParams& p, Communicator& comm) {
  FilteredRows out;
  // Greedy rows are not filtered; their pi is the plain softmax of the logits.
  at::Tensor s = p.greedy() ? logits : logits / p.temperature;
  at::Tensor m = global_row_max(s, comm);
  auto log_norm = [&](const at::Tensor& x) {
    at::Tensor sum = (x - m.unsqueeze(1)).exp().sum(1).contiguous();
    comm.all_reduce_sum(sum);
    return m + sum.log();
  };
  if (p.greedy()) {
    out.scaled = s;
    out.log_norm = log_norm(s);
    return out;
  }
  if (p.min_p > 0.0f) {
    s = s.masked_fill(s - m.unsqueeze(1) < std::log(p.min_p), kNegInf);
  }
  if (p.top_k > 0) {
    at::Tensor kth = global_kth_largest(s, p.top_k, comm);
    s = s.masked_fill(s < kth.unsqueeze(1), kNegInf);
  }
  at::Tensor norm = log_norm(s);  // softmax normaliser over the survivors: m + ln sum exp(s - m)
  if (p.top_p < 1.0f) {
    for (std::int64_t r = 0; r < s.size(0); ++r) {
      at::Tensor row = s.select(0, r);
      const float boundary = top_p_boundary(row, norm[r].item<float>(), p.top_p, comm);
      row.masked_fill_(row < boundary, kNegInf);
    }
    norm = log_norm(s);
  }
  out.scaled = s;
  out.log_norm = norm;
  return out;
}

}  // namespace fssl
