// Gumbel-max scores on vocabulary shards (scoring.h): every cross-rank step is a max, a sum, or
// an argmax-with-index of per-row scalars.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "fssl/scoring.h"
#include "fssl/gumbel_decision.h"
#include "fssl/margin_model.h"
#include "scoring/columns.h"
#include "scoring/finish.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

at::Tensor global_count(const at::Tensor& mask, Communicator& comm) {
  at::Tensor n = mask.sum(1, /*keepdim=*/false, at::kLong).contiguous();
  comm.all_reduce_sum(n);
  return n;
}

// #{i : row_r[i] > threshold[r]} for each row, summed over the group: one vectorised pass over a
// contiguous float32 CPU shard instead of a [n, V] mask and its reduction (which cost the raw-logit
// rank ten times as much); other tensors take the mask path.
at::Tensor global_count_above(const at::Tensor& logits, const at::Tensor& threshold, Communicator& comm) {
  if (!logits.is_cpu() || !logits.is_contiguous() || logits.scalar_type() != at::kFloat) {
    return global_count(logits.gt(threshold.unsqueeze(1)), comm);
  }
  const std::int64_t rows = logits.size(0), width = logits.size(1);
  at::Tensor n = at::empty({rows}, at::kLong);
  const at::Tensor t = threshold.to(at::kFloat).contiguous();
  const float* x = logits.data_ptr<float>();
  const float* th = t.data_ptr<float>();
  std::int64_t* out = n.data_ptr<std::int64_t>();
  at::parallel_for(0, rows, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* row = x + r * width;
      const float limit = th[r];
      std::int32_t above = 0;  // widths stay far below 2^31
      for (std::int64_t i = 0; i < width; ++i) above += row[i] > limit ? 1 : 0;
      out[r] = above;
    }
  });
  comm.all_reduce_sum(n);
  return n;
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

// Scores over `cols`; the raw-logit rank always spans the whole vocabulary, so the caller passes it.
// `band`, for sparse columns, holds the shard whose filtered tokens outside `cols` can still be
// admissible.
ScoreBatch score_columns(const Columns& cols, const at::Tensor& claimed, const SamplerParams& params,
                         std::int64_t vocab_size, const ScoreConfig& config, Communicator& comm, ServerRule rule,
                         const at::Tensor& logit_rank, const ShardBand* band = nullptr) {
  const at::Tensor& logits = cols.logits;
  const at::Tensor& noise = cols.noise;
  const at::Tensor& local_y = cols.local_y;
  const at::Tensor& owned = cols.owned;
  const GumbelDecision d = gumbel_decision(logits, noise, cols.gumbel, cols.ids, params, rule, comm);
  const MarginModel margins(cols.raw.defined() ? cols.raw : logits, d, params.temperature, comm, cols.outside_drop);
  const at::Tensor margin = margins.claimed(local_y, owned);
  at::Tensor ratio_y = claimed_value(d.ratio, local_y, owned, comm);

  ScoreBatch out;
  out.exact = d.choice.eq(claimed);
  out.margin = margin;
  out.prob = claimed_value(d.pi, local_y, owned, comm).clamp_min(0.0);  // -inf: y is not a kept column
  out.logit_rank = logit_rank;
  out.gumbel_rank = global_count(d.ratio > ratio_y.unsqueeze(1), comm).masked_fill(ratio_y == kNegInf, -1);
  // Admissible-set sizes for the grid and the tier threshold, counted over ascending thresholds
  // in one bucketing, then put back in configuration order.
  const ThresholdOrder order = threshold_order(config);
  const at::Tensor floors = margins.rival_floors(order.ascending);
  at::Tensor counts = margins.admissible_counts(order.ascending, floors).contiguous();
  comm.all_reduce_sum(counts);
  if (band != nullptr) counts += band_counts(*band, floors, margins.boundary(), params.temperature, order.ascending);
  finish_scores(out, counts, order, config, vocab_size);
  return out;
}

// Kept sets larger than this are scored densely: gathering them would cost more than it saves.
constexpr std::int64_t kSparseKeptLimit = 2048;

ScoreBatch score_gumbel_chunk(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                              const SamplerParams& params, const VocabShard& vocab, const ScoreConfig& config,
                              Communicator& comm, ServerRule rule, const at::Tensor& gumbel) {
  const at::Tensor rank = raw_logit_rank(logits, claimed, vocab, comm);
  if (params.filters()) {
    // Sparse when the kept set is small: gather it (and each row's claimed column) onto every rank and score
    // it there with a local communicator; the raw-logit rank and the filtered tokens near the
    // boundary (ShardBand) are counted on the shards.
    at::Tensor picked, key_floor, outside_drop, mark = logits;
    SamplerParams on_kept = params;
    bool mask_filtered = false;  // the decision sees filtered candidates as -inf logits
    if (params.top_k > 0 && params.top_k <= kSparseKeptLimit && !params.sort_ranked) {
      // Top-k survivors lie among every rank's k largest logits (T > 0 keeps their order), unless
      // a rank holds more than k values tied at the boundary. Filters still run on the candidates.
      const std::int64_t k = std::min<std::int64_t>(params.top_k, logits.size(1));
      const std::int64_t k1 = std::min<std::int64_t>(k + 1, logits.size(1));
      auto [values, index] = logits.topk(k1, 1);
      const at::Tensor kth = values.select(1, k - 1).contiguous();
      if (global_max_row_count(logits.ge(kth.unsqueeze(1)), comm) <= k) {
        picked = index.narrow(1, 0, k).contiguous();  // exactly the columns >= kth
        key_floor = kth;
        // The largest logit outside them is this rank's (k+1)-th: where a filter drops rivals to.
        outside_drop = k1 > k ? values.select(1, k).contiguous() : at::full({logits.size(0)}, kNegInf);
      }
    } else if (params.top_k == 0 || params.sort_ranked) {
      // The kept set from the filters on the shard (SGLang's sorted cut needs the whole row's mass,
      // which top-k candidates alone do not have).
      const FilteredRows f = sampler_filter(logits, params, comm);
      const std::int64_t width = global_max_row_count(f.scaled != kNegInf, comm);
      if (width <= kSparseKeptLimit) {
        // The kept set (and some filtered columns where a row keeps fewer), scored with the
        // filters switched off.
        picked = std::get<1>(f.scaled.topk(std::max<std::int64_t>(width, 1), 1));
        key_floor = at::full({logits.size(0)}, std::numeric_limits<float>::lowest(), at::kFloat);  // kept: finite
        outside_drop = logits.masked_fill(f.scaled != kNegInf, kNegInf).amax(1);  // a superset of outside: harmless
        mark = f.scaled;
        mask_filtered = true;
        on_kept = SamplerParams{params.temperature, 0, 1.0f, 0.0f, false};
      }
    }
    if (picked.defined()) {
      Columns kept = gather_columns(picked, mark, logits, noise, gumbel, claimed, vocab, comm);
      kept.outside_drop = outside_drop.contiguous();  // the candidates are scored locally: reduce it here
      comm.all_reduce_max(kept.outside_drop);
      if (mask_filtered) {
        // Filtered picks other than the claimed column are the band's to count, not candidates.
        const at::Tensor filtered = kept.mark == kNegInf;
        kept.raw = kept.logits.masked_fill(filtered.logical_and(kept.ids != claimed.unsqueeze(1)), kNegInf);
        kept.logits = kept.logits.masked_fill(filtered, kNegInf);
      }
      const at::Tensor local_y = claimed - vocab.begin;
      const ShardBand band{logits, noise, gumbel, mark, key_floor, local_y.clamp(0, logits.size(1) - 1),
                           (local_y >= 0).logical_and(local_y < logits.size(1)), &comm};
      auto local = comm_local();
      return score_columns(kept, claimed, on_kept, vocab.full, config, *local, rule, rank, &band);
    }
  }
  return score_columns(dense_columns(logits, noise, gumbel, claimed, vocab), claimed, params, vocab.full, config, comm,
                       rule, rank);
}

// Rows per chunk: about 1 MiB of float32 per [rows, Vp] temporary, so the ~30 elementwise passes
// over a chunk run from cache instead of memory (2x measured at V = 128,256 with fssl bench score).
constexpr std::int64_t kChunkElements = 1 << 18;

}  // namespace

ScoreBatch score_gumbel_rows(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& claimed,
                             const SamplerParams& params, const VocabShard& vocab, const ScoreConfig& config,
                             Communicator& comm, ServerRule rule, const at::Tensor& gumbel) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  FSSL_CHECK(noise.sizes() == logits.sizes() && claimed.size(0) == n, ReplayError,
             "score_gumbel_rows: logits [{}, {}], noise and claimed ids disagree", n, vp);
  FSSL_CHECK(vp == vocab.size, ReplayError, "score_gumbel_rows: logits have {} columns, the vocabulary shard {}", vp,
             vocab.size);
  const std::int64_t rows = std::max<std::int64_t>(1, kChunkElements / std::max<std::int64_t>(vp, 1));
  std::vector<ScoreBatch> parts;
  for (std::int64_t first = 0; first < n; first += rows) {
    const std::int64_t count = std::min(rows, n - first);
    parts.push_back(score_gumbel_chunk(logits.narrow(0, first, count), noise.narrow(0, first, count),
                                       claimed.narrow(0, first, count), params, vocab, config, comm, rule,
                                       gumbel.defined() ? gumbel.narrow(0, first, count) : gumbel));
  }
  return parts.size() == 1 ? std::move(parts.front()) : score_batch_cat(parts);
}

at::Tensor raw_logit_rank(const at::Tensor& logits, const at::Tensor& claimed, const VocabShard& vocab,
                          Communicator& comm) {
  const std::int64_t vp = logits.size(1);
  at::Tensor local_y = claimed - vocab.begin;
  at::Tensor owned = (local_y >= 0).logical_and(local_y < vp);
  at::Tensor l_y = claimed_value(logits, local_y.clamp(0, vp - 1), owned, comm);
  return global_count_above(logits, l_y, comm);
}

namespace {

constexpr at::Tensor ScoreBatch::*kScoreFields[] = {&ScoreBatch::exact,      &ScoreBatch::margin,      &ScoreBatch::gmls,
                                                     &ScoreBatch::prob,       &ScoreBatch::logit_rank,  &ScoreBatch::gumbel_rank,
                                                     &ScoreBatch::admissible, &ScoreBatch::tier,        &ScoreBatch::bits};

}  // namespace

ScoreBatch score_batch_cat(const std::vector<ScoreBatch>& parts) {
  ScoreBatch out;
  for (at::Tensor ScoreBatch::*field : kScoreFields) {
    std::vector<at::Tensor> pieces;
    for (const ScoreBatch& b : parts) pieces.push_back(b.*field);
    out.*field = at::cat(pieces);
  }
  return out;
}

void score_batch_set_row(ScoreBatch& dst, std::int64_t i, const ScoreBatch& src, std::int64_t j) {
  for (at::Tensor ScoreBatch::*field : kScoreFields) (dst.*field)[i].copy_((src.*field)[j]);
}

}  // namespace fssl
