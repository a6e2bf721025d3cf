// IPT-LS scoring of llama.cpp's dist sampler (scoring_ipt.h): per row, rebuild the candidate list
// in the sampler's own order, replay the draw, and score the claimed token's CDF interval.
#include "fssl/scoring_ipt.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "fssl/scoring.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Candidate {
  float logit;
  std::int64_t id;
};

// The row's candidates from every rank: each rank's `k` largest logits (k = 0: all its columns),
// in id order, padding and -inf dropped.
std::vector<Candidate> gather_candidates(const at::Tensor& row, std::int64_t k, const VocabShard& vocab,
                                         Communicator& comm) {
  at::Tensor values = row, index = at::arange(row.size(0), at::kLong);
  if (k > 0) std::tie(values, index) = row.topk(std::min<std::int64_t>(k, row.size(0)));
  at::Tensor all_values = comm.all_gather(values.contiguous());
  at::Tensor all_ids = comm.all_gather((index + vocab.begin).contiguous());
  const float* v = all_values.data_ptr<float>();
  const std::int64_t* ids = all_ids.data_ptr<std::int64_t>();
  std::vector<Candidate> out;
  for (std::int64_t i = 0; i < all_values.numel(); ++i) {
    if (v[i] != kNegInf && ids[i] < vocab.full) out.push_back({v[i], ids[i]});
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  return out;
}

void sort_descending(std::vector<Candidate>& c) {
  // Stable on an id-ordered list: equal logits keep the smaller id first.
  std::stable_sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.logit > b.logit; });
}

// llama.cpp's chain on the gathered candidates; returns the final list in the sampler's order.
std::vector<Candidate> apply_chain(std::vector<Candidate> c, const SamplerParams& p) {
  bool sorted = false;
  if (p.top_k > 0) {
    sort_descending(c);
    sorted = true;
    if (static_cast<std::int64_t>(c.size()) > p.top_k) c.resize(static_cast<std::size_t>(p.top_k));
  }
  if (p.top_p < 1.0f && c.size() > 1) {
    if (!sorted) sort_descending(c);
    sorted = true;
    double total = 0.0;
    for (const Candidate& x : c) total += std::exp(static_cast<double>(x.logit) - c.front().logit);
    double cum = 0.0;
    std::size_t keep = c.size();
    for (std::size_t i = 0; i < c.size(); ++i) {
      cum += std::exp(static_cast<double>(c[i].logit) - c.front().logit) / total;
      if (cum >= p.top_p) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }
  if (p.min_p > 0.0f && !c.empty()) {
    const float max_l = std::max_element(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
                          return a.logit < b.logit;
                        })->logit;
    const float min_l = max_l + std::log(p.min_p);
    c.erase(std::remove_if(c.begin(), c.end(), [&](const Candidate& x) { return x.logit < min_l; }), c.end());
  }
  if (p.greedy() && !c.empty()) {
    // Keep the first maximum: the largest logit, smaller id on ties.
    auto best = c.begin();
    for (auto it = c.begin(); it != c.end(); ++it) {
      if (it->logit > best->logit || (it->logit == best->logit && it->id < best->id)) best = it;
    }
    c = {*best};
  } else {
    for (Candidate& x : c) x.logit /= p.temperature;
  }
  return c;
}

// One row's draw as llama.cpp makes it: the chain's candidates in their final order, their
// max-subtracted masses, the uniform (if drawn) and the chosen id (-1 when nothing is left).
struct IptDraw {
  std::vector<Candidate> candidates;
  std::vector<double> mass;
  double total = 0.0, u = 0.0;
  bool drew = false;
  std::int64_t chosen = -1;
};

IptDraw ipt_draw(const at::Tensor& row, const SamplerParams& params, const VocabShard& vocab, bool single_draw,
                 const std::function<double()>& next_uniform, Communicator& comm) {
  IptDraw d;
  d.candidates = apply_chain(gather_candidates(row, params.top_k, vocab, comm), params);
  const std::vector<Candidate>& c = d.candidates;
  // The draw: skipped for a single candidate unless the engine always draws.
  if (c.size() > 1 || single_draw) {
    d.u = next_uniform();
    d.drew = true;
  }
  // Probabilities in the current order (max-subtracted, double running sum): the first running
  // sum >= u * total picks the token.
  const float max_l = c.empty() ? 0.0f : std::max_element(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
                                            return a.logit < b.logit;
                                          })->logit;
  d.mass.resize(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) d.total += d.mass[i] = std::exp(static_cast<double>(c[i].logit - max_l));
  if (c.size() == 1) d.chosen = c.front().id;
  double running = 0.0;
  for (std::size_t i = 0; i < c.size() && c.size() > 1; ++i) {
    running += d.mass[i];
    if (running >= d.u * d.total) {
      d.chosen = c[i].id;
      break;
    }
  }
  if (d.chosen < 0 && !c.empty()) d.chosen = c.back().id;  // u * total beyond the rounded sum
  return d;
}

}  // namespace

std::int64_t sample_ipt_row(const at::Tensor& row, const SamplerParams& params, const VocabShard& vocab,
                            bool single_draw, const std::function<double()>& next_uniform, Communicator& comm) {
  return ipt_draw(row, params, vocab, single_draw, next_uniform, comm).chosen;
}

IptScoreBatch score_ipt_rows(const at::Tensor& logits, const at::Tensor& claimed, const SamplerParams& params,
                             const VocabShard& vocab, bool single_draw, const std::function<double()>& next_uniform,
                             const IptConfig& config, Communicator& comm) {
  const std::int64_t n = logits.size(0);
  const auto n_sigmas = static_cast<std::int64_t>(config.sigmas.size());
  const auto n_grid = static_cast<std::int64_t>(config.distance_grid.size());
  IptScoreBatch out;
  out.exact = at::zeros({n}, at::kBool);
  out.drew = at::zeros({n}, at::kBool);
  out.distance = at::empty({n}, at::kDouble);
  out.iptls = at::empty({n, n_sigmas}, at::kFloat);
  out.prob = at::zeros({n}, at::kFloat);
  out.admissible = at::zeros({n, n_grid}, at::kLong);
  out.tier = at::empty({n}, at::kByte);
  out.bits = at::empty({n}, at::kDouble);
  out.logit_rank = raw_logit_rank(logits, claimed, vocab, comm);

  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t y = claimed[r].item<std::int64_t>();
    const IptDraw draw = ipt_draw(logits[r], params, vocab, single_draw, next_uniform, comm);
    const std::vector<Candidate>& c = draw.candidates;
    const double u = draw.u, total = draw.total;
    out.drew[r] = draw.drew;
    double running = 0.0, a_y = 0.0, b_y = 0.0;
    bool found = false;
    std::vector<std::pair<double, double>> interval(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      const double a = running / total;
      running += draw.mass[i];
      const double b = running / total;
      interval[i] = {a, b};
      if (c[i].id == y) {
        a_y = a;
        b_y = b;
        found = true;
        out.prob[r] = static_cast<float>(draw.mass[i] / total);
      }
    }
    const std::int64_t chosen = draw.chosen;
    out.exact[r] = chosen == y;
    const double distance = !found ? INFINITY : std::max({a_y - u, u - b_y, 0.0});
    out.distance[r] = distance;
    for (std::int64_t s = 0; s < n_sigmas; ++s) {
      const double sigma = config.sigmas[static_cast<std::size_t>(s)];
      const double mass_y = 0.5 * (std::erfc(-(b_y - u) / (sigma * std::sqrt(2.0))) -
                                   std::erfc(-(a_y - u) / (sigma * std::sqrt(2.0))));
      out.iptls[r][s] = found ? static_cast<float>(std::log(mass_y + 1e-12)) : -INFINITY;
    }
    std::int64_t at_threshold = 0;
    for (const auto& [a, b] : interval) {
      const double d = std::max({a - u, u - b, 0.0});
      for (std::int64_t j = 0; j < n_grid; ++j) {
        if (d <= config.distance_grid[static_cast<std::size_t>(j)]) out.admissible[r][j] += 1;
      }
      if (d <= config.distance_threshold) ++at_threshold;
    }
    const std::int64_t rank = out.logit_rank[r].item<std::int64_t>();
    TokenTier tier = TokenTier::kDangerous;
    double bits = std::log2(static_cast<double>(vocab.full));
    if (distance <= config.distance_threshold) {
      tier = TokenTier::kSafe;
      bits = std::log2(static_cast<double>(std::max<std::int64_t>(at_threshold, 1)));
    } else if (rank <= config.rank_cutoff) {
      tier = TokenTier::kSuspicious;
      bits = std::log2(static_cast<double>(config.rank_cutoff + 1));
    }
    out.tier[r] = static_cast<std::uint8_t>(tier);
    out.bits[r] = bits;
  }
  return out;
}

IptScoreBatch ipt_batch_cat(const std::vector<IptScoreBatch>& parts) {
  IptScoreBatch out;
  for (at::Tensor IptScoreBatch::*field : {&IptScoreBatch::exact, &IptScoreBatch::drew, &IptScoreBatch::distance,
                                           &IptScoreBatch::iptls, &IptScoreBatch::prob, &IptScoreBatch::logit_rank,
                                           &IptScoreBatch::admissible, &IptScoreBatch::tier, &IptScoreBatch::bits}) {
    std::vector<at::Tensor> pieces;
    for (const IptScoreBatch& b : parts) pieces.push_back(b.*field);
    out.*field = at::cat(pieces);
  }
  return out;
}

}  // namespace fssl
