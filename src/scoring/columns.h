// Which vocabulary columns a chunk of rows is scored on (scoring/gumbel.cpp): this rank's whole
// shard (dense), or the candidates every rank picked, gathered onto every rank (sparse), plus the
// filtered tokens outside the candidates that the boundary-aware margin can still admit (the band).
// Private to scoring_*.cpp.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "fssl/comm.h"
#include "fssl/vocab_shard.h"

namespace fssl {

struct Columns {
  at::Tensor logits, noise, gumbel;  // [n, C] float32; gumbel may be undefined (then -ln noise)
  at::Tensor ids;                    // [n, C] int64 global token ids, ascending within a row (-1: padding)
  at::Tensor local_y, owned;         // [n] column of the claimed token here, and whether it is here
  at::Tensor mark;                   // sparse: gather_columns' `mark`
  at::Tensor raw;                    // raw logits where `logits` has the filtered ones at -inf
  at::Tensor outside_drop;           // sparse: [n] the largest logit of the columns not gathered
};

// This rank's whole shard of a sparse chunk and which of its columns are already candidates: the
// filtered tokens outside them are counted into the admissible sets here, without gathering them.
// Column i of row r is a candidate iff key[r, i] >= key_floor[r] or it is the claimed column.
struct ShardBand {
  at::Tensor logits, noise, gumbel;  // [n, Vp] float32 CPU, as given to score_gumbel_rows
  at::Tensor key, key_floor;         // [n, Vp], [n] float32
  at::Tensor local_y, owned;         // [n] the claimed column here, and whether this rank holds it
  Communicator* comm;                // the tensor-parallel group
};

// This rank's shard as it is.
Columns dense_columns(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                      const at::Tensor& claimed, const VocabShard& vocab);

// The columns `index` [n, w] picked on each rank, plus each row's claimed column (so that its
// margin comes from the same arithmetic on every path), gathered from every rank and sorted by id.
// `mark` [n, Vp] is a per-column value the caller needs back (e.g. the filtered scaled logits). A
// claimed column already picked, or owned by another rank, becomes padding (logit -inf, id -1).
// Collective.
Columns gather_columns(const at::Tensor& index, const at::Tensor& mark, const at::Tensor& logits,
                       const at::Tensor& noise, const at::Tensor& gumbel, const at::Tensor& claimed,
                       const VocabShard& vocab, Communicator& comm);

// The largest per-row count of `mask` on any rank (the same on every rank). Collective.
std::int64_t global_max_row_count(const at::Tensor& mask, Communicator& comm);

// #{filtered i outside the candidates : Delta_i <= t_j} for each row and threshold t_j, summed
// over band.comm: [n, thresholds.size()] int64. With the margin model's threshold form
// (fssl/margin_model.h), i counts at t_j iff l_b - l_i <= t_j and l_i + T G_i >= floors[r, j], where
// floors [n, g] = rival_floor(t_j) and boundary [n] = l_b. Collective.
at::Tensor band_counts(const ShardBand& band, const at::Tensor& floors, const at::Tensor& boundary, float temperature,
                       const std::vector<double>& thresholds);

}  // namespace fssl
