// Fused Gumbel-max scoring of whole-vocabulary rows (tensor-parallel size 1): the scores of
// scoring.h computed row by row in a handful of passes over the logits, regenerating the noise in
// each pass, so that no [rows x vocab] intermediate (noise, z, pi, masks) is ever stored. The CUDA
// kernel (fssl/scoring_cuda.h, FSSL_WITH_CUDA builds) runs one thread block per row; score_rows_fused_host
// runs the same per-row code with the block emulated on the CPU, so CI checks the algorithm
// against score_gumbel_rows and the naive golden scores without a GPU.
//
// Agreement with score_gumbel_rows given the same noise and G: margins, admissible-set counts,
// raw-logit ranks and the argmax-z winner are bit-identical (same float32 operations, explicit
// rounding); pi and what depends on it (prob, the pi / E choice and its rank, a top-p boundary
// within rounding of p) agree to float32 rounding of a differently ordered sum.
// Rows the fused path does not take (a top-p boundary among more than kTopPCandidates tied-close
// tokens, or with p within e^-40 of 1) come back with status kRowTopPOverflow; callers score them
// with score_gumbel_rows.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "fssl/sampler.h"
#include "fssl/scoring_row_params.h"
#include "fssl/scoring.h"

namespace fssl::fused {

// The row parameters of logged settings; `ascending` thresholds from threshold order (margin grid +
// tier threshold, sorted). Throws ConfigError for more than kMaxThresholds thresholds.
RowParams row_params(const SamplerParams& params, ServerRule rule, const std::vector<double>& ascending);

// ScoreBatch (CPU tensors) of rows scored by the fused path with row_params(..., config's
// thresholds ascending); every row must have status kRowOk (else ReplayError).
ScoreBatch score_batch_of(const std::vector<RowResult>& rows, const at::Tensor& claimed, const ScoreConfig& config,
                          std::int64_t vocab_size);

// score_batch_of for rows of which some the fused path declined (kRowTopPOverflow): each such row
// r is scored by cpu_row(r), a one-row ScoreBatch from score_gumbel_rows, and spliced in.
ScoreBatch score_batch_with_fallback(std::vector<RowResult> rows, const at::Tensor& claimed, const ScoreConfig& config,
                                     std::int64_t vocab_size, const std::function<ScoreBatch(std::int64_t)>& cpu_row);

// The margin grid + tier threshold of `config` in ascending order (what row_params takes).
std::vector<double> ascending_thresholds(const ScoreConfig& config);

// The fused algorithm on the CPU (block emulated): logits, noise [n, V] float32 CPU, gumbel as in
// score_gumbel_rows (undefined: -ln E), claimed [n] int64. Rows the fused path does not take are
// scored with score_gumbel_rows (local communicator).
ScoreBatch score_rows_fused_host(const at::Tensor& logits, const at::Tensor& noise, const at::Tensor& gumbel,
                                 const at::Tensor& claimed, const SamplerParams& params, ServerRule rule,
                                 const ScoreConfig& config);

// Per-row results of the host emulation, fallbacks included (status), for tests.
std::vector<RowResult> score_rows_fused_host_raw(const at::Tensor& logits, const at::Tensor& noise,
                                                 const at::Tensor& gumbel, const at::Tensor& claimed,
                                                 const RowParams& params);

}  // namespace fssl::fused
