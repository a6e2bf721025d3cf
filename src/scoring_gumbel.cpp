// Gumbel-max scores on vocabulary shards (scoring.h): every cross-rank step is a max, a sum, or
// an argmax-with-index of per-row scalars.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "fssl/scoring.h"
#include "gumbel_decision.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Value of each row at the claimed column, from the rank that owns it (others contribute -inf).
at::Tensor claimed_value(const at::Tensor& x, const at::Tensor& local_y, const at::Tensor& owned, Communicator& comm) {
  at::Tensor v = x.gather(1, local_y.unsqueeze(1)).squeeze(1).masked_fill(owned.logical_not(), kNegInf).contiguous();
  comm.all_reduce_max(v);
  return v;
}

at::Tensor global_count(const at::Tensor& mask, Communicator& comm) {
  at::Tensor n = mask.sum(1, /*keepdim=*/false, at::kLong).contiguous();
  comm.all_reduce_sum(n);
  return n;
}

// #{i : gap_i <= t_j} for every row and every threshold t_j (sorted ascending), in one pass:
// bucket each gap, histogram the buckets, cumulate. [n, n_thresholds] int64, summed over ranks.
at::Tensor global_counts_at_most(const at::Tensor& gap, const std::vector<double>& thresholds, Communicator& comm) {
  const std::int64_t n = gap.size(0), g = static_cast<std::int64_t>(thresholds.size());
  at::Tensor bounds = at::tensor(thresholds, at::kDouble).to(at::kFloat);
  at::Tensor bucket = at::bucketize(gap, bounds, /*out_int32=*/false, /*right=*/false);  // first j with gap <= t_j
  at::Tensor hist = at::zeros({n, g + 1}, at::kLong).scatter_add_(1, bucket, at::ones_like(bucket));
  at::Tensor counts = hist.narrow(1, 0, g).cumsum(1).contiguous();
  comm.all_reduce_sum(counts);
  return counts;
}

}  // namespace

double log_ndtr(double x) {
  if (x > -20.0) return std::log(0.5 * std::erfc(-x / std::sqrt(2.0)));
  // Asymptotic series of Phi(x) = phi(x) / |x| * (1 - 1/x^2 + 3/x^4 - 15/x^6 + ...).
  const double x2 = x * x;
  const double series = 1.0 - 1.0 / x2 + 3.0 / (x2 * x2) - 15.0 / (x2 * x2 * x2);
  return -0.5 * x2 - std::log(-x) - 0.5 * std::log(2.0 * M_PI) + std::log(series);
}

namespace {

// Columns of one chunk of rows: this rank's vocabulary shard (dense), or every rank's top-k
// candidates gathered onto every rank (sparse, scored with a local communicator).
struct Columns {
  at::Tensor logits, noise, gumbel;  // [n, C] float32; gumbel may be undefined (then -ln noise)
  at::Tensor ids;                    // [n, C] int64 global token ids, ascending within a row
  at::Tensor local_y, owned;         // [n] column of the claimed token here, and whether it is here
  at::Tensor selected;               // sparse: the values the columns were selected by
};

// Scores over `cols`; the raw-logit rank always spans the whole vocabulary, so the caller passes it.
ScoreBatch score_columns(const Columns& cols, const at::Tensor& claimed, const SamplerParams& params,
                         std::int64_t vocab_size, const ScoreConfig& config, Communicator& comm, ServerRule rule,
                         const at::Tensor& logit_rank) {
  const at::Tensor& logits = cols.logits;
  const at::Tensor& noise = cols.noise;
  const at::Tensor& gumbel = cols.gumbel;
  const at::Tensor& local_y = cols.local_y;
  const at::Tensor& owned = cols.owned;
  const std::int64_t n = logits.size(0);
  const GumbelDecision d = gumbel_decision(logits, noise, gumbel, cols.ids, params, rule, comm);
  const at::Tensor& z = d.z;
  const at::Tensor& z_c = d.z_max;
  const at::Tensor& pi = d.pi;
  const at::Tensor& ratio = d.ratio;
  at::Tensor z_y = claimed_value(z, local_y, owned, comm);
  at::Tensor margin = z_c - z_y;  // +inf when z_y = -inf
  at::Tensor ratio_y = claimed_value(ratio, local_y, owned, comm);

  ScoreBatch out;
  out.exact = d.choice.eq(claimed);
  out.margin = margin;
  out.prob = claimed_value(pi, local_y, owned, comm).clamp_min(0.0);  // -inf: y is not a kept column
  out.logit_rank = logit_rank;
  out.gumbel_rank = global_count(ratio > ratio_y.unsqueeze(1), comm).masked_fill(ratio_y == kNegInf, -1);
  // Admissible-set sizes for the grid and the tier threshold, from one bucketing of the gaps.
  std::vector<double> thresholds = config.margin_grid;
  thresholds.push_back(config.margin_threshold);
  std::vector<std::size_t> order(thresholds.size());
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return thresholds[a] < thresholds[b]; });
  std::vector<double> sorted;
  for (std::size_t j : order) sorted.push_back(thresholds[j]);
  const at::Tensor counts = global_counts_at_most(z_c.unsqueeze(1) - z, sorted, comm);  // gap +inf outside K
  at::Tensor by_threshold = at::empty_like(counts);
  for (std::size_t j = 0; j < order.size(); ++j) {
    by_threshold.select(1, static_cast<std::int64_t>(order[j])).copy_(counts.select(1, static_cast<std::int64_t>(j)));
  }
  out.admissible = by_threshold.narrow(1, 0, static_cast<std::int64_t>(config.margin_grid.size())).contiguous();
  const at::Tensor threshold_set = by_threshold.select(1, static_cast<std::int64_t>(config.margin_grid.size())).contiguous();
  out.gmls = at::empty({n, static_cast<std::int64_t>(config.sigmas.size())}, at::kFloat);
  out.tier = at::empty({n}, at::kByte);
  out.bits = at::empty({n}, at::kDouble);
  const float* m = margin.data_ptr<float>();
  const std::int64_t* rank = out.logit_rank.data_ptr<std::int64_t>();
  const std::int64_t* a = threshold_set.data_ptr<std::int64_t>();
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::size_t s = 0; s < config.sigmas.size(); ++s) {
      const double x = -static_cast<double>(m[r]) / (std::sqrt(2.0) * config.sigmas[s]);
      out.gmls[r][static_cast<std::int64_t>(s)] = static_cast<float>(std::isinf(x) ? -INFINITY : log_ndtr(x));
    }
    TokenTier tier;
    double bits;
    if (static_cast<double>(m[r]) <= config.margin_threshold) {
      tier = TokenTier::kSafe;
      bits = std::log2(static_cast<double>(std::max<std::int64_t>(a[r], 1)));
    } else if (rank[r] <= config.rank_cutoff) {
      tier = TokenTier::kSuspicious;
      bits = std::log2(static_cast<double>(config.rank_cutoff + 1));
    } else {
      tier = TokenTier::kDangerous;
      bits = std::log2(static_cast<double>(vocab_size));
    }
    out.tier[r] = static_cast<std::uint8_t>(tier);
    out.bits[r] = bits;
  }
  return out;
}

// The columns of a dense chunk: this rank's shard as it is.
Columns dense_columns(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                      const at::Tensor& claimed, std::int64_t vocab_begin) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  Columns cols{logits, noise, gumbel, (at::arange(vp, at::kLong) + vocab_begin).expand({n, vp}), {}, {}, {}};
  at::Tensor local_y = claimed - vocab_begin;
  cols.owned = (local_y >= 0).logical_and(local_y < vp);
  cols.local_y = local_y.clamp(0, vp - 1);
  return cols;
}

// The columns `top` = select.topk(k, 1) picked on each rank (raw logits, noise, G, global ids and
// the selecting values), gathered from every rank and sorted by id: a sparse chunk's candidates.
Columns gather_columns(const std::tuple<at::Tensor, at::Tensor>& top, const at::Tensor& logits, const at::Tensor& noise,
                       const at::Tensor& gumbel, const at::Tensor& claimed, std::int64_t vocab_begin,
                       Communicator& comm) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  FSSL_CHECK(vocab_begin + vp <= (1 << 24), ReplayError, "sparse scoring: vocabulary too large for float ids");
  const at::Tensor& index = std::get<1>(top);
  const bool has_gumbel = gumbel.defined();
  at::Tensor parts = at::stack({logits.gather(1, index), noise.gather(1, index),
                                has_gumbel ? gumbel.gather(1, index) : noise.gather(1, index),
                                (index + vocab_begin).to(at::kFloat), std::get<0>(top)},
                               0);                                          // [5, n, k]; ids < 2^24 exact
  at::Tensor all = comm.all_gather(parts.unsqueeze(0).contiguous());        // [t, 5, n, k]
  at::Tensor gathered = all.permute({1, 2, 0, 3}).reshape({5, n, -1});      // [5, n, t * k]
  auto [ids, order] = gathered[3].to(at::kLong).sort(1);
  auto take = [&](int field) { return gathered[field].gather(1, order).contiguous(); };
  Columns cols{take(0), take(1), has_gumbel ? take(2) : at::Tensor(), ids, {}, {}, take(4)};
  at::Tensor match = ids.eq(claimed.unsqueeze(1));
  cols.owned = match.any(1);
  cols.local_y = match.to(at::kInt).argmax(1);
  return cols;
}

// The largest per-row count of `mask` on any rank (the same on every rank: one all-reduce).
std::int64_t global_max_row_count(const at::Tensor& mask, Communicator& comm) {
  at::Tensor worst = mask.sum(1, false, at::kLong).max().reshape({1}).contiguous();
  comm.all_reduce_max(worst);
  return worst.item<std::int64_t>();
}

// Kept sets larger than this are scored densely: gathering them would cost more than it saves.
constexpr std::int64_t kSparseKeptLimit = 2048;

ScoreBatch score_gumbel_chunk(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                              const SamplerParams& params, std::int64_t vocab_begin, std::int64_t vocab_size,
                              const ScoreConfig& config, Communicator& comm, ServerRule rule, const at::Tensor& gumbel) {
  const at::Tensor rank = raw_logit_rank(logits, claimed, vocab_begin, comm);
  if (!params.greedy() && (params.top_k > 0 || params.top_p < 1.0f || params.min_p > 0.0f)) {
    // Sparse: the kept set is small, so gather it and score it on every rank with a local
    // communicator; only the raw-logit rank needs every column.
    Columns kept;
    bool sparse = false;
    SamplerParams on_kept = params;
    const std::int64_t k = std::min<std::int64_t>(params.top_k, logits.size(1));
    std::tuple<at::Tensor, at::Tensor> top;
    if (params.top_k > 0 && params.top_k <= kSparseKeptLimit) top = logits.topk(k, 1);
    if (params.top_k > 0 && params.top_k <= kSparseKeptLimit &&
        global_max_row_count(logits.ge(std::get<0>(top).select(1, k - 1).unsqueeze(1)), comm) <= k) {
      // Top-k survivors lie among every rank's k largest logits (T > 0 keeps their order), unless
      // a rank holds more than k values tied at the boundary. Filters still run on the candidates.
      kept = gather_columns(top, logits, noise, gumbel, claimed, vocab_begin, comm);
      sparse = true;
    } else if (params.top_k == 0) {
      const FilteredRows f = sampler_filter(logits, params, comm);
      const std::int64_t width = global_max_row_count(f.scaled != kNegInf, comm);
      if (width <= kSparseKeptLimit) {
        // Exactly the kept set (plus filtered padding): score it with the filters switched off.
        kept = gather_columns(f.scaled.topk(std::min<std::int64_t>(std::max<std::int64_t>(width, 1), logits.size(1)), 1),
                              logits, noise, gumbel, claimed, vocab_begin, comm);
        kept.logits = kept.logits.masked_fill(kept.selected == kNegInf, kNegInf);
        on_kept = SamplerParams{params.temperature, 0, 1.0f, 0.0f, false};
        sparse = true;
      }
    }
    if (sparse) {
      auto local = comm_local();
      return score_columns(kept, claimed, on_kept, vocab_size, config, *local, rule, rank);
    }
  }
  return score_columns(dense_columns(logits, noise, gumbel, claimed, vocab_begin), claimed, params, vocab_size, config,
                       comm, rule, rank);
}

// Rows per chunk: about 1 MiB of float32 per [rows, Vp] temporary, so the ~30 elementwise passes
// over a chunk run from cache instead of memory (2x measured at V = 128,256 with fssl bench score).
constexpr std::int64_t kChunkElements = 1 << 18;

}  // namespace

ScoreBatch score_gumbel_rows(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                             const SamplerParams& params, std::int64_t vocab_begin, std::int64_t vocab_size,
                             const ScoreConfig& config, Communicator& comm, ServerRule rule,
                             const at::Tensor& gumbel) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  FSSL_CHECK(noise.sizes() == logits.sizes() && claimed.size(0) == n, ReplayError,
             "score_gumbel_rows: logits [{}, {}], noise and claimed ids disagree", n, vp);
  const std::int64_t rows = std::max<std::int64_t>(1, kChunkElements / std::max<std::int64_t>(vp, 1));
  std::vector<ScoreBatch> parts;
  for (std::int64_t first = 0; first < n; first += rows) {
    const std::int64_t count = std::min(rows, n - first);
    parts.push_back(score_gumbel_chunk(logits.narrow(0, first, count), noise.narrow(0, first, count),
                                       claimed.narrow(0, first, count), params, vocab_begin, vocab_size, config, comm,
                                       rule, gumbel.defined() ? gumbel.narrow(0, first, count) : gumbel));
  }
  return parts.size() == 1 ? std::move(parts.front()) : score_batch_cat(parts);
}

at::Tensor raw_logit_rank(const at::Tensor& logits, const at::Tensor& claimed, std::int64_t vocab_begin,
                          Communicator& comm) {
  const std::int64_t vp = logits.size(1);
  at::Tensor local_y = claimed - vocab_begin;
  at::Tensor owned = (local_y >= 0).logical_and(local_y < vp);
  at::Tensor l_y = claimed_value(logits, local_y.clamp(0, vp - 1), owned, comm);
  return global_count(logits > l_y.unsqueeze(1), comm);
}

ScoreBatch score_batch_cat(const std::vector<ScoreBatch>& parts) {
  ScoreBatch out;
  for (at::Tensor ScoreBatch::*field : {&ScoreBatch::exact, &ScoreBatch::margin, &ScoreBatch::gmls, &ScoreBatch::prob,
                                        &ScoreBatch::logit_rank, &ScoreBatch::gumbel_rank, &ScoreBatch::admissible,
                                        &ScoreBatch::tier, &ScoreBatch::bits}) {
    std::vector<at::Tensor> pieces;
    for (const ScoreBatch& b : parts) pieces.push_back(b.*field);
    out.*field = at::cat(pieces);
  }
  return out;
}

}  // namespace fssl
