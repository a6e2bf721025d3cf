// `fssl bench score`'s processors rows (bench/score_processors.cpp). Private to src/bench/.
#pragma once

#include <ATen/core/Tensor.h>

#include "fssl/bench.h"
#include "fssl/comm.h"

namespace fssl {

// Per engine order, a message's scoring with and without logits processors (penalties, logit bias,
// min_tokens, bad words over a 512-token prompt), side by side on the same logits: tokens/s of
// each and the processors' share of the time.
void bench_score_processors(const ScoreBenchOptions& options, std::int64_t vocab, const at::Tensor& logits,
                            const at::Tensor& claimed, Communicator& comm);

}  // namespace fssl
