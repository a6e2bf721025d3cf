// What a simulated server does to a step's logits before it samples (simulate/server.h): benign
// Gaussian noise standing for kernels it does not model, and its clients' logits processors.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "simulate/server.h"

namespace fssl {

at::Tensor logit_noise_row(const SimulateOptions& o, std::uint64_t message, std::int64_t step,
                           const VocabShard& vocab) {
  const std::uint64_t stream = o.seed * 0x9E3779B97F4A7C15ull ^ (message << 20) ^ static_cast<std::uint64_t>(step);
  at::Generator gen = at::detail::createCPUGenerator(stream);
  at::Tensor row = at::zeros({vocab.size}, at::kFloat);
  row.narrow(0, 0, vocab.valid)
      .copy_(at::empty({vocab.full}, at::kFloat).normal_(0.0, o.logit_noise, gen).narrow(0, vocab.begin, vocab.valid));
  return row;
}

at::Tensor process_rows(const std::vector<Message>& batch, const std::vector<std::size_t>& active,
                        const at::Tensor& clean, at::Tensor& logits, const VocabShard& vocab) {
  if (std::none_of(active.begin(), active.end(), [&](std::size_t k) { return batch[k].processors.has_value(); })) {
    return at::Tensor();
  }
  const bool aliased = logits.is_same(clean);
  at::Tensor processed = clean.clone();
  if (aliased) logits = processed;
  for (std::size_t a = 0; a < active.size(); ++a) {
    const Message& m = batch[active[a]];
    if (!m.processors) continue;
    const auto row = static_cast<std::int64_t>(a), step = static_cast<std::int64_t>(m.record.output.size());
    at::Tensor clean_row = processed.narrow(0, row, 1);
    m.processors->apply(clean_row, step, vocab);
    if (aliased) continue;
    at::Tensor served_row = logits.narrow(0, row, 1);
    m.processors->apply(served_row, step, vocab);
  }
  return processed;
}

}  // namespace fssl
