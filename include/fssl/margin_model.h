// The boundary-aware Token-DiFR margin (scoring.h), shared by scoring and by the admissible-set
// adversary (stego.h) so that "safe" and "admissible" are one definition. Private to src/.
//
// For a row with perturbed logits z (kept set K, z = l + T G), kept-set boundary l_b = min_{K} l
// and largest filtered logit l_d (-inf when nothing is filtered), the margin of token i is the
// noise it takes to make i the sampled token, each obstacle cleared its cheapest way:
//   entry     e_i = 0 for i in K, l_b - l_i otherwise (i must cross the filter boundary);
//   rivals    every kept j with z_j > z'_i (z'_i = l_i + T G_i) must either lose to i, costing
//             z_j - z'_i, or fall out of the filter, costing l_j - l_d;
//   Delta_i = max(e_i, max_{j in K, z_j > z'_i} min(z_j - z'_i, l_j - l_d)).
// This is the one-competitor closed form of the general estimator's two terms (verification-
// math.md §4.7: y must survive the filter; each rival loses to y or falls under the boundary).
// Without filtering it is RR's z_c - z_y. It keeps both kinds of honest filter-boundary flip
// cheap: a server that kept y at the top-k boundary the verifier drew, and a server that dropped
// the verifier's own winner c at the boundary (then min(z_c - z_y, l_c - l_d) is small).
// Admissible sets use the equivalent threshold form: with M_delta = max{z_j : j in K,
// l_j - l_d > delta} (the rivals that cannot be removed within delta),
//   Delta_i <= delta  <=>  e_i <= delta  and  z'_i >= M_delta - delta.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "fssl/comm.h"
#include "fssl/gumbel_decision.h"

namespace fssl {

class MarginModel {
 public:
  // raw: the raw logits of d's columns (-inf: padding). outside_drop [n] (may be undefined): the
  // largest filtered logit among columns that are not d's (sparse scoring). Collective.
  MarginModel(const at::Tensor& raw, const GumbelDecision& d, float temperature, Communicator& comm,
              const at::Tensor& outside_drop = at::Tensor());

  // Delta_y of each row's claimed column (owned: whether this rank holds it). Collective.
  at::Tensor claimed(const at::Tensor& local_y, const at::Tensor& owned) const;
  // M_delta - delta per row. Collective.
  at::Tensor rival_floor(double delta) const;
  // [n, g] rival_floor(t_j) for ascending thresholds t, from one bucketing of the kept columns.
  // Collective.
  at::Tensor rival_floors(const std::vector<double>& ascending) const;
  // [n, C] bool: columns with Delta_i <= delta, given floor = rival_floor(delta). Local.
  at::Tensor admissible(double delta, const at::Tensor& floor) const;
  // #{columns here with Delta_i <= t_j} [n, g] for ascending thresholds t with floors [n, g] =
  // rival_floor(t_j): one bucketing of every column (floors fall as t grows). Local.
  at::Tensor admissible_counts(const std::vector<double>& ascending, const at::Tensor& floors) const;

  const at::Tensor& boundary() const { return boundary_; }  // [n] l_b
  const at::Tensor& drop() const { return drop_; }          // [n] l_d
  const at::Tensor& perturbed() const { return perturbed_; }  // [n, C] z'_i = l_i + T G_i

 private:
  const GumbelDecision& d_;
  Communicator& comm_;
  at::Tensor raw_, kept_, boundary_, drop_, perturbed_;
};

// Value of each row at the claimed column, from the rank that owns it (others give -inf). Collective.
at::Tensor claimed_value(const at::Tensor& x, const at::Tensor& local_y, const at::Tensor& owned, Communicator& comm);

}  // namespace fssl
