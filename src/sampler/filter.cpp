// Vocab-parallel min-p / top-k / top-p (sampler.h): only maxima, sums and short candidate lists
// cross ranks.
#include <ATen/ATen.h>

#include <cmath>
#include <limits>

#include "fssl/error.h"
#include "fssl/sampler.h"
#include "sampler/sorted_filter.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Global row maxima of x [n, Vp].
at::Tensor global_row_max(const at::Tensor& x, Communicator& comm) {
  at::Tensor m = std::get<0>(x.max(1)).contiguous();
  comm.all_reduce_max(m);
  return m;
}

// Every rank's k largest values of each row, gathered: [n, t * k] (-inf padded). The global
// top-k survivors are all among them (up to extra copies of a value tied with the k-th largest).
at::Tensor gather_top_k(const at::Tensor& s, std::int64_t k, Communicator& comm) {
  const std::int64_t n = s.size(0), local = std::min<std::int64_t>(k, s.size(1));
  at::Tensor top = at::full({n, k}, kNegInf, s.options());
  top.narrow(1, 0, local).copy_(std::get<0>(s.topk(local, 1)));
  at::Tensor all = comm.all_gather(top.contiguous());  // [t * n, k]
  return at::cat(all.split(n, 0), 1);
}

// Scans survivor values sorted descending for the top-p boundary: the smallest value whose mass
// strictly above it is < p. Values <= unseen_max may have unseen neighbours on some rank; the
// scan is `decided` once it stops above them, or when nothing is unseen.
float scan_top_p(const float* v, std::int64_t total, float unseen_max, double log_norm, float p, bool* decided,
                 double above = 0.0 /* mass of strictly larger survivors not in v */) {
  float boundary = kNegInf;
  std::int64_t i = 0;
  while (i < total && v[i] > unseen_max) {
    if (above >= p) break;
    std::int64_t j = i;
    double group = 0.0;
    while (j < total && v[j] == v[i]) group += std::exp(static_cast<double>(v[j++]) - log_norm);
    boundary = v[i];
    above += group;
    i = j;
  }
  *decided = above >= p || unseen_max == kNegInf;
  return boundary;
}

// Top-p boundary by exchanging each rank's m largest survivors, doubling m until the scan is
// decided (all of them only for near-flat rows with p near 1). The fallback of top_p_boundary.
float top_p_boundary_by_doubling(const at::Tensor& row, float log_norm, float p, Communicator& comm) {
  const std::int64_t vp = row.size(0);
  for (std::int64_t m = std::min<std::int64_t>(256, vp);; m = std::min<std::int64_t>(2 * m, vp)) {
    at::Tensor gathered = comm.all_gather(std::get<0>(row.topk(m)).contiguous());  // [t * m], -inf padded
    // Unseen survivors of a rank are <= the last value it sent; -inf when it sent them all.
    const float unseen_max = m == vp ? kNegInf : gathered.view({-1, m}).select(1, m - 1).max().item<float>();
    at::Tensor values = std::get<0>(gathered.sort(0, /*descending=*/true));
    bool decided = false;
    const float boundary = scan_top_p(values.data_ptr<float>(), values.size(0), unseen_max, log_norm, p, &decided);
    if (decided) return boundary;
  }
}

// Top-p boundary of one row without a top-k list, around two collectives: the survivors' mass in
// kBuckets value buckets below the row maximum (all-reduced) locates the bucket holding the
// boundary; that bucket's survivors, gathered from every rank, are then scanned exactly, starting
// from the mass of the buckets above it. Rows whose boundary lies below the buckets (p within
// ~e^-40 of 1) fall back to doubling candidate lists.
float top_p_boundary(const at::Tensor& row, float row_max, float log_norm, float p, Communicator& comm) {
  constexpr std::int64_t kBuckets = 1024;
  constexpr double kWidth = 40.0 / kBuckets;  // buckets cover [max - 40, max]
  at::Tensor bucket = ((row_max - row) / kWidth).floor().clamp(0, kBuckets).to(at::kLong);  // -inf -> tail
  at::Tensor hist = at::zeros({kBuckets + 1}, at::kDouble)
                        .scatter_add_(0, bucket, (row.to(at::kDouble) - log_norm).exp());
  comm.all_reduce_sum(hist);
  const double* h = hist.data_ptr<double>();
  double above = 0.0;
  std::int64_t j = 0;
  while (j < kBuckets && above + h[j] < p) above += h[j++];
  if (j == kBuckets) return top_p_boundary_by_doubling(row, log_norm, p, comm);
  at::Tensor local = row.masked_select(bucket == j);
  at::Tensor width = at::full({1}, local.size(0), at::kLong);
  comm.all_reduce_max(width);
  at::Tensor padded = at::full({width.item<std::int64_t>()}, kNegInf, row.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  at::Tensor values = std::get<0>(comm.all_gather(padded).sort(0, /*descending=*/true));
  bool decided = false;  // always: everything below the bucket has at least p above it
  return scan_top_p(values.data_ptr<float>(), values.size(0), kNegInf, log_norm, p, &decided, above);
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
  if (p.sort_ranked) {
    // SGLang refuses min-p with a seed (sampler_profile.h), so its sorted path has only top-k / top-p.
    FSSL_CHECK(p.min_p == 0.0f, ReplayError, "sorted (SGLang) filters do not combine with min_p {}", p.min_p);
    out.scaled = sorted_filter(s, sampler_sort_key(logits, p), p, comm);
    out.log_norm = log_norm(out.scaled);
    return out;
  }
  // min-p keeps s_i >= max s + ln(min_p): the maximum survives every filter, so only the mass
  // the later top-p sees depends on where min-p runs.
  auto apply_min_p = [&] {
    if (p.min_p > 0.0f) s = s.masked_fill(s - m.unsqueeze(1) < std::log(p.min_p), kNegInf);
  };
  if (!p.min_p_last) apply_min_p();
  at::Tensor candidates;  // [n, t * k] sorted descending when top-k is active
  if (p.top_k > 0) {
    candidates = std::get<0>(gather_top_k(s, p.top_k, comm).sort(1, /*descending=*/true));
    at::Tensor kth = candidates.select(1, p.top_k - 1);
    s = s.masked_fill(s < kth.unsqueeze(1), kNegInf);
    candidates = candidates.masked_fill(candidates < kth.unsqueeze(1), kNegInf).contiguous();
  }
  at::Tensor norm = log_norm(s);  // softmax normaliser over the survivors: m + ln sum exp(s - m)
  if (p.top_p < 1.0f) {
    at::Tensor boundaries = at::empty({s.size(0)}, s.options());
    for (std::int64_t r = 0; r < s.size(0); ++r) {
      const double row_norm = norm[r].item<double>();
      if (candidates.defined()) {
        // Every survivor value is in the gathered list (copies tied with the k-th largest may be
        // missing, but they form the lowest group, whose own mass never decides a boundary).
        bool decided = false;
        boundaries[r] = scan_top_p(candidates[r].data_ptr<float>(), candidates.size(1), kNegInf, row_norm, p.top_p,
                                   &decided);
      } else {
        boundaries[r] = top_p_boundary(s.select(0, r), m[r].item<float>(), static_cast<float>(row_norm), p.top_p, comm);
      }
    }
    s = s.masked_fill(s < boundaries.unsqueeze(1), kNegInf);
    norm = log_norm(s);
  }
  if (p.min_p_last && p.min_p > 0.0f) {
    apply_min_p();
    norm = log_norm(s);
  }
  out.scaled = s;
  out.log_norm = norm;
  return out;
}

}  // namespace fssl
