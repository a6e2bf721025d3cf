// The boundary-aware margin (fssl/margin_model.h).
#include "fssl/margin_model.h"

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

at::Tensor MarginModel::rival_floor(double delta) const { return rival_floors({delta}).select(1, 0); }

at::Tensor MarginModel::rival_floors(const std::vector<double>& ascending) const {
  const std::int64_t n = raw_.size(0), g = static_cast<std::int64_t>(ascending.size());
  const at::Tensor t = at::tensor(ascending, at::kDouble).to(at::kFloat);
  // Rival j stays in M_{t_k} iff its removal cost exceeds t_k, i.e. k < (first k with cost <= t_k):
  // the largest z per such bucket, then a running max from the top bucket down.
  const at::Tensor bucket = at::bucketize(raw_ - drop_.unsqueeze(1), t, false, false);  // [n, C] in [0, g]
  const at::Tensor z = d_.z;                                                             // -inf outside K
  at::Tensor top = at::full({n, g + 1}, -kInf, at::kFloat).scatter_reduce_(1, bucket, z, "amax", true);
  // M_k = max over buckets b > k.
  at::Tensor strongest = std::get<0>(top.flip(1).cummax(1)).flip(1).narrow(1, 1, g).contiguous();
  comm_.all_reduce_max(strongest);
  return strongest - t.unsqueeze(0);
}

at::Tensor MarginModel::admissible(double delta, const at::Tensor& floor) const {
  const at::Tensor entry_ok = kept_.logical_or((boundary_.unsqueeze(1) - raw_).le(static_cast<float>(delta)));
  return perturbed_.ge(floor.unsqueeze(1)).logical_and_(entry_ok).logical_and_(raw_ != -kInf);
}

at::Tensor MarginModel::admissible_counts(const std::vector<double>& ascending, const at::Tensor& floors) const {
  const std::int64_t n = raw_.size(0), g = static_cast<std::int64_t>(ascending.size());
  // First threshold the entry cost allows, and first whose rival floor z' reaches; a column is
  // admissible from the later of the two on (padding: never).
  const at::Tensor entry = at::where(kept_, at::zeros_like(raw_), boundary_.unsqueeze(1) - raw_);
  const at::Tensor by_entry = at::bucketize(entry, at::tensor(ascending, at::kDouble).to(at::kFloat), false, false);
  const at::Tensor by_rivals = at::searchsorted(floors.neg().contiguous(), perturbed_.neg().contiguous());
  const at::Tensor bucket = at::maximum(by_entry, by_rivals).masked_fill_(raw_ == -kInf, g);
  const at::Tensor hist = at::zeros({n, g + 1}, at::kLong).scatter_add_(1, bucket, at::ones_like(bucket));
  return hist.narrow(1, 0, g).cumsum(1);
}

}  // namespace fssl
