// The fused per-row scorer (scoring/fused_row.h) on the CPU with its thread block emulated: the same
// passes, partials and combinations the CUDA kernel runs, one virtual thread after another.
// It exists so that CI checks the kernel's algorithm against score_gumbel_rows and the naive
// golden scores; production CPU scoring stays score_gumbel_rows (vectorised, tensor-parallel).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "fssl/error.h"
#include "fssl/scoring_fused.h"
#include "scoring/fused_row.h"
#include "scoring/finish.h"

namespace fssl::fused {
namespace {

// The block as a loop over virtual threads. 512 threads, like the kernel's launch.
class HostBlock {
 public:
  static constexpr int kThreads = 512;
  int threads() const { return kThreads; }
  template <class F, class C>
  auto reduce(F partial, C combine) {
    auto acc = partial(0);
    for (int t = 1; t < kThreads; ++t) acc = combine(acc, partial(t));
    return acc;
  }
  template <class F>
  void count(unsigned* bins, int n, F body) {
    std::fill(bins, bins + n, 0u);
    for (int t = 0; t < kThreads; ++t) body(t, [&](int bin) { ++bins[bin]; });
  }
  template <class F>
  void accumulate(double* bins, int n, F body) {
    std::fill(bins, bins + n, 0.0);
    for (int t = 0; t < kThreads; ++t) body(t, [&](int bin, double x) { bins[bin] += x; });
  }
  template <class F>
  int collect(float* buf, int cap, F body) {
    int total = 0;
    for (int t = 0; t < kThreads; ++t) {
      body(t, [&](float v) {
        if (total < cap) buf[total] = v;
        ++total;
      });
    }
    return total;
  }
  void sort_descending(float* buf, int n) { std::sort(buf, buf + n, std::greater<float>()); }
  template <class F>
  auto once(F f) {
    return f();
  }
  unsigned* bins() { return bins_.data(); }
  double* dbins() { return dbins_.data(); }
  float* buffer() { return buffer_.data(); }

 private:
  std::vector<unsigned> bins_ = std::vector<unsigned>(kRadixBins);
  std::vector<double> dbins_ = std::vector<double>(kTopPBuckets + 1);
  std::vector<float> buffer_ = std::vector<float>(kTopPCandidates);
};

// score_row's Noise for one row of tensors: E given, G given or -ln E in float32.
struct RowNoise {
  const float* e_row;
  const float* g_row;  // may be null
  float e(std::int64_t i) const { return e_row[i]; }
  float g(std::int64_t i) const { return g_from(i, e_row[i]); }
  float g_from(std::int64_t i, float e) const { return g_row != nullptr ? g_row[i] : -std::log(e); }
};

}  // namespace

std::vector<double> ascending_thresholds(const ScoreConfig& config) { return threshold_order(config).ascending; }

RowParams row_params(const SamplerParams& params, ServerRule rule, const std::vector<double>& ascending) {
  FSSL_CHECK(ascending.size() <= static_cast<std::size_t>(kMaxThresholds), ConfigError,
             "fused scoring takes at most {} thresholds (margin grid + tier threshold), got {}", kMaxThresholds,
             ascending.size());
  RowParams p;
  p.temperature = params.temperature;
  p.top_k = params.top_k;
  p.top_p = params.top_p;
  p.min_p = params.min_p;
  p.log_min_p = params.min_p > 0.0f ? std::log(params.min_p) : 0.0f;
  p.min_p_last = params.min_p_last;
  p.max_perturbed_rule = rule == ServerRule::kMaxPerturbedLogit;
  p.scaled_plus_rule = rule == ServerRule::kScaledPlusGumbel;
  p.n_thresholds = static_cast<int>(ascending.size());
  for (std::size_t k = 0; k < ascending.size(); ++k) p.thresholds[k] = static_cast<float>(ascending[k]);
  return p;
}

ScoreBatch score_batch_of(const std::vector<RowResult>& rows, const at::Tensor& claimed, const ScoreConfig& config,
                          std::int64_t vocab_size) {
  const ThresholdOrder order = threshold_order(config);
  const std::int64_t n = static_cast<std::int64_t>(rows.size()), g = static_cast<std::int64_t>(order.ascending.size());
  ScoreBatch out;
  at::Tensor choice = at::empty({n}, at::kLong), counts = at::empty({n, g}, at::kLong);
  out.margin = at::empty({n}, at::kFloat);
  out.prob = at::empty({n}, at::kFloat);
  out.logit_rank = at::empty({n}, at::kLong);
  out.gumbel_rank = at::empty({n}, at::kLong);
  for (std::int64_t r = 0; r < n; ++r) {
    const RowResult& row = rows[static_cast<std::size_t>(r)];
    FSSL_CHECK(row.status == kRowOk, ReplayError, "score_batch_of: row {} was not scored by the fused path", r);
    choice.data_ptr<std::int64_t>()[r] = row.choice;
    out.margin.data_ptr<float>()[r] = row.margin;
    out.prob.data_ptr<float>()[r] = row.prob;
    out.logit_rank.data_ptr<std::int64_t>()[r] = row.logit_rank;
    out.gumbel_rank.data_ptr<std::int64_t>()[r] = row.gumbel_rank;
    std::copy(row.counts, row.counts + g, counts.data_ptr<std::int64_t>() + r * g);
  }
  out.exact = choice.eq(claimed.cpu());
  finish_scores(out, counts, order, config, vocab_size);
  return out;
}

ScoreBatch score_batch_with_fallback(std::vector<RowResult> rows, const at::Tensor& claimed, const ScoreConfig& config,
                                     std::int64_t vocab_size, const std::function<ScoreBatch(std::int64_t)>& cpu_row) {
  std::vector<std::int64_t> declined;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].status != kRowTopPOverflow) continue;
    declined.push_back(static_cast<std::int64_t>(r));
    rows[r] = RowResult{};  // a placeholder, overwritten below
  }
  ScoreBatch out = score_batch_of(rows, claimed, config, vocab_size);
  for (std::int64_t r : declined) score_batch_set_row(out, r, cpu_row(r), 0);
  return out;
}

std::vector<RowResult> score_rows_fused_host_raw(const at::Tensor& logits, const at::Tensor& noise,
                                                 const at::Tensor& gumbel, const at::Tensor& claimed,
                                                 const RowParams& params) {
  const at::Tensor l = logits.contiguous(), e = noise.contiguous(), y = claimed.contiguous();
  const at::Tensor g = gumbel.defined() ? gumbel.contiguous() : gumbel;
  FSSL_CHECK(l.dim() == 2 && e.sizes() == l.sizes() && y.size(0) == l.size(0) && (!g.defined() || g.sizes() == l.sizes()),
             ReplayError, "fused scoring: logits, noise, gumbel and claimed ids disagree in shape");
  const std::int64_t n = l.size(0), V = l.size(1);
  HostBlock block;
  std::vector<RowResult> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t token = y.data_ptr<std::int64_t>()[r];
    FSSL_CHECK(token >= 0 && token < V, ReplayError, "fused scoring: claimed id {} of row {} outside [0, {})", token, r, V);
    const RowNoise noise_row{e.data_ptr<float>() + r * V, g.defined() ? g.data_ptr<float>() + r * V : nullptr};
    out.push_back(score_row(block, l.data_ptr<float>() + r * V, V, token, noise_row, params));
  }
  return out;
}

ScoreBatch score_rows_fused_host(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                                 const at::Tensor& claimed, const SamplerParams& params, ServerRule rule,
                                 const ScoreConfig& config) {
  std::vector<RowResult> rows = score_rows_fused_host_raw(logits, noise, gumbel, claimed,
                                                         row_params(params, rule, ascending_thresholds(config)));
  auto local = comm_local();
  return score_batch_with_fallback(std::move(rows), claimed, config, logits.size(1), [&](std::int64_t i) {
    return score_gumbel_rows(logits.narrow(0, i, 1), noise.narrow(0, i, 1), claimed.narrow(0, i, 1), params,
                             VocabShard::whole(logits.size(1)), config, *local, rule,
                             gumbel.defined() ? gumbel.narrow(0, i, 1) : gumbel);
  });
}

}  // namespace fssl::fused
