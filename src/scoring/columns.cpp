// Candidate columns and the boundary band of sparse scoring (scoring/columns.h).
#include "scoring/columns.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "fssl/error.h"

namespace fssl {

Columns dense_columns(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                      const at::Tensor& claimed, const VocabShard& vocab) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  Columns cols{logits, noise, gumbel, (at::arange(vp, at::kLong) + vocab.begin).expand({n, vp}), {}, {}, {}, {}, {}};
  at::Tensor local_y = claimed - vocab.begin;
  cols.owned = (local_y >= 0).logical_and(local_y < vp);
  cols.local_y = local_y.clamp(0, vp - 1);
  return cols;
}

Columns gather_columns(const at::Tensor& index, const at::Tensor& mark, const at::Tensor& logits,
                       const at::Tensor& noise, const at::Tensor& gumbel, const at::Tensor& claimed,
                       const VocabShard& vocab, Communicator& comm) {
  const std::int64_t n = logits.size(0), vp = logits.size(1);
  FSSL_CHECK(vocab.begin + vp <= (1 << 24), ReplayError, "sparse scoring: vocabulary too large for float ids");
  const at::Tensor local_y = claimed - vocab.begin;
  const at::Tensor y_here = (local_y >= 0).logical_and(local_y < vp);
  const at::Tensor y_col = local_y.clamp(0, vp - 1).unsqueeze(1);
  const at::Tensor pad_y = y_here.logical_not().logical_or(index.eq(y_col).any(1)).unsqueeze(1);  // [n, 1]
  const at::Tensor here = at::cat({index, y_col}, 1);
  const bool has_gumbel = gumbel.defined();
  auto pick = [&](const at::Tensor& x) { return x.gather(1, here); };
  auto pad_last = [&](at::Tensor x, double value) {
    x.narrow(1, x.size(1) - 1, 1).masked_fill_(pad_y, value);
    return x;
  };
  const double neg_inf = -std::numeric_limits<double>::infinity();
  at::Tensor parts = at::stack({pad_last(pick(logits), neg_inf), pick(noise), has_gumbel ? pick(gumbel) : pick(noise),
                                pad_last((here + vocab.begin).to(at::kFloat), -1.0), pad_last(pick(mark), neg_inf)},
                               0);                                     // [5, n, w + 1]; ids < 2^24 exact
  at::Tensor all = comm.all_gather(parts.unsqueeze(0).contiguous());   // [t, 5, n, w + 1]
  at::Tensor gathered = all.permute({1, 2, 0, 3}).reshape({5, n, -1});  // [5, n, t (w + 1)]
  auto [ids, order] = gathered[3].to(at::kLong).sort(1);
  auto take = [&](int field) { return gathered[field].gather(1, order).contiguous(); };
  Columns cols{take(0), take(1), has_gumbel ? take(2) : at::Tensor(), ids, {}, {}, take(4), {}, {}};
  at::Tensor match = ids.eq(claimed.unsqueeze(1));
  cols.owned = match.any(1);
  cols.local_y = match.to(at::kInt).argmax(1);
  return cols;
}

std::int64_t global_max_row_count(const at::Tensor& mask, Communicator& comm) {
  at::Tensor worst = mask.sum(1, false, at::kLong).max().reshape({1}).contiguous();
  comm.all_reduce_max(worst);
  return worst.item<std::int64_t>();
}

namespace {

// (row, column) of the non-candidate columns with l >= low[r] and G >= min_g[r] (or E <= max_e[r]):
// one pass over the shard, rows in parallel.
std::pair<at::Tensor, at::Tensor> near_columns(const ShardBand& band, const at::Tensor& low, const at::Tensor& min_g,
                                               const at::Tensor& max_e) {
  const std::int64_t n = band.logits.size(0), vp = band.logits.size(1);
  FSSL_CHECK(band.logits.device().is_cpu(), ReplayError, "sparse scoring: the boundary band runs on the CPU");
  const at::Tensor l = band.logits.contiguous(), key = band.key.contiguous();
  const bool has_gumbel = band.gumbel.defined();
  const at::Tensor noise = (has_gumbel ? band.gumbel : band.noise).contiguous();
  const at::Tensor key_floor = band.key_floor.contiguous(), lo = low.contiguous();
  const at::Tensor noise_limit = (has_gumbel ? min_g : max_e).contiguous();
  const at::Tensor y = band.local_y.masked_fill(band.owned.logical_not(), -1).contiguous();
  std::vector<std::vector<std::int64_t>> found(static_cast<std::size_t>(n));
  at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* lr = l.data_ptr<float>() + r * vp;
      const float* kr = key.data_ptr<float>() + r * vp;
      const float* er = noise.data_ptr<float>() + r * vp;
      const float floor = key_floor.data_ptr<float>()[r], low_r = lo.data_ptr<float>()[r];
      const float limit = noise_limit.data_ptr<float>()[r];
      const std::int64_t yr = y.data_ptr<std::int64_t>()[r];
      auto& out = found[static_cast<std::size_t>(r)];
      for (std::int64_t i = 0; i < vp; ++i) {
        const bool noise_ok = has_gumbel ? er[i] >= limit : er[i] <= limit;
        if (lr[i] >= low_r && kr[i] < floor && noise_ok && i != yr) out.push_back(i);
      }
    }
  });
  std::vector<std::int64_t> rows, cols;
  for (std::int64_t r = 0; r < n; ++r) {
    for (std::int64_t i : found[static_cast<std::size_t>(r)]) {
      rows.push_back(r);
      cols.push_back(i);
    }
  }
  return {at::tensor(rows, at::kLong), at::tensor(cols, at::kLong)};
}

}  // namespace

at::Tensor band_counts(const ShardBand& band, const at::Tensor& floors, const at::Tensor& boundary, float temperature,
                       const std::vector<double>& thresholds) {
  // A band column needs l_i >= l_b - t and l_i + T G_i >= floor_t for some t, so (as l_i <= l_b)
  // l_i >= l_b - t_max and G_i >= (min_t floor_t - l_b) / T: two comparisons per column and no
  // logarithm (E_i <= exp(-that) when G is -ln E). The slack keeps float rounding from dropping a
  // column; a column too many is only examined, not counted.
  const std::int64_t n = band.logits.size(0), vp = band.logits.size(1);
  const auto g = static_cast<std::int64_t>(thresholds.size());
  const double widest = *std::max_element(thresholds.begin(), thresholds.end()) * (1.0 + 1e-3) + 1e-3;
  const at::Tensor min_g = (std::get<0>(floors.min(1)).to(at::kDouble) - boundary.to(at::kDouble)) / temperature;
  const at::Tensor min_g_f = (min_g - 1e-3 * (1.0 + min_g.abs())).to(at::kFloat);
  const at::Tensor max_e = (min_g.neg().exp() * (1.0 + 1e-3)).to(at::kFloat);
  const auto [row, column] = near_columns(band, (boundary.to(at::kDouble) - widest).to(at::kFloat), min_g_f, max_e);
  // Only the near columns get a logarithm and the exact test, in float32 like the candidates'.
  const at::Tensor flat = row * vp + column;
  const at::Tensor l = band.logits.reshape({-1}).index_select(0, flat);
  const at::Tensor gumbel = band.gumbel.defined() ? band.gumbel.reshape({-1}).index_select(0, flat)
                                                  : band.noise.reshape({-1}).index_select(0, flat).log().neg();
  const at::Tensor perturbed = l + temperature * gumbel;
  const at::Tensor entry = boundary.index_select(0, row) - l;
  const at::Tensor row_floors = floors.index_select(0, row);  // [nnz, g]
  at::Tensor counts = at::zeros({n, g}, at::kLong);
  for (std::int64_t j = 0; j < g; ++j) {
    const at::Tensor in = entry.le(static_cast<float>(thresholds[static_cast<std::size_t>(j)]))
                              .logical_and_(perturbed.ge(row_floors.select(1, j)));
    counts.select(1, j).index_add_(0, row, in.to(at::kLong));
  }
  band.comm->all_reduce_sum(counts);
  return counts;
}

}  // namespace fssl
