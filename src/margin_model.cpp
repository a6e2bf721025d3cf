// The boundary-aware margin (margin_model.h).
#include "margin_model.h"

#include <limits>

namespace fssl {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

at::Tensor claimed_value(const at::Tensor& x, const at::Tensor& local_y, const at::Tensor& owned, Communicator& comm) {
  at::Tensor v = x.gather(1, local_y.unsqueeze(1)).squeeze(1).masked_fill(owned.logical_not(), -kInf).contiguous();
  comm.all_reduce_max(v);
  return v;
}

MarginModel::MarginModel(const at::Tensor& raw, const GumbelDecision& d, float temperature, Communicator& comm,
                         const at::Tensor& outside_drop)
    : d_(d), comm_(comm), raw_(raw) {
  kept_ = d.z != -kInf;
  const at::Tensor filtered = kept_.logical_not().logical_and(raw != -kInf);
  // One all-reduce for both: max of -l_b and of l_d.
  at::Tensor ends = at::stack({raw.masked_fill(kept_.logical_not(), kInf).amin(1).neg(),
                               raw.masked_fill(filtered.logical_not(), -kInf).amax(1)});
  if (outside_drop.defined()) ends[1] = at::maximum(ends[1], outside_drop);
  ends = ends.contiguous();
  comm.all_reduce_max(ends);
  boundary_ = ends[0].neg();
  drop_ = ends[1].contiguous();
  perturbed_ = at::where(kept_, d.z, raw + temperature * d.g);
}

at::Tensor MarginModel::claimed(const at::Tensor& local_y, const at::Tensor& owned) const {
  // The claimed column's z' and entry cost, then its rivals on every rank.
  const at::Tensor entry_cost = at::where(kept_, at::zeros_like(raw_), boundary_.unsqueeze(1) - raw_);
  at::Tensor y = at::stack({claimed_value(perturbed_, local_y, owned, comm_),
                            claimed_value(entry_cost.neg(), local_y, owned, comm_).neg()});
  const at::Tensor z_y = y[0].unsqueeze(1);
  const at::Tensor removal = raw_ - drop_.unsqueeze(1);  // +inf when nothing is filtered
  at::Tensor rivals = at::minimum(d_.z - z_y, removal).masked_fill(d_.z.le(z_y), 0.0f).amax(1).contiguous();
  comm_.all_reduce_max(rivals);
  return at::maximum(y[1], rivals);
}

at::Tensor MarginModel::rival_floor(double delta) const {
  const at::Tensor removal = raw_ - drop_.unsqueeze(1);
  at::Tensor strongest = d_.z.masked_fill(removal.le(static_cast<float>(delta)), -kInf).amax(1).contiguous();
  comm_.all_reduce_max(strongest);
  return strongest - static_cast<float>(delta);
}

at::Tensor MarginModel::admissible(double delta, const at::Tensor& floor) const {
  const at::Tensor entry_ok = kept_.logical_or((boundary_.unsqueeze(1) - raw_).le(static_cast<float>(delta)));
  return perturbed_.ge(floor.unsqueeze(1)).logical_and_(entry_ok).logical_and_(raw_ != -kInf);
}

}  // namespace fssl
