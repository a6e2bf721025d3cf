// Each engine's processor arithmetic on one logit, and its application to a message's logit shards
// (fssl/processors.h). Built with -ffp-contract=off: every a * b + c here is two roundings unless
// it says std::fma, as the engines' own builds round it.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "fssl/error.h"
#include "fssl/processors.h"
#include "touches.h"

namespace fssl {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The allowed-ids mask of the shard: 1 where a column may be sampled.
std::vector<std::uint8_t> allowed_columns(const LogitsProcessors& p, const VocabShard& vocab) {
  std::vector<std::uint8_t> keep(static_cast<std::size_t>(vocab.size), 0);
  for (std::int32_t id : p.allowed_token_ids) {
    const std::int64_t col = id - vocab.begin;
    if (col >= 0 && col < vocab.valid) keep[static_cast<std::size_t>(col)] = 1;
  }
  return keep;
}

}  // namespace

MessageProcessors::MessageProcessors(const ProcessorRules& rules, const LogitsProcessors& processors,
                                     const std::vector<std::int32_t>& prompt, const std::vector<std::int32_t>& output,
                                     std::int64_t vocab_size)
    : rules_(rules), processors_(processors), prompt_(prompt), output_(output), vocab_size_(vocab_size),
      prompt_ids_(prompt) {
  std::sort(prompt_ids_.begin(), prompt_ids_.end());
  prompt_ids_.erase(std::unique(prompt_ids_.begin(), prompt_ids_.end()), prompt_ids_.end());
}

float MessageProcessors::process(float l, bool repeated, std::int32_t count, bool biased, float bias,
                                 bool banned) const {
  // Every mask is -inf, and -inf stays -inf through the steps after it: the engines' mask orders
  // agree (processors.h), so a banned column is -inf whatever came first.
  if (banned) return kNegInf;
  const LogitsProcessors& p = processors_;
  const float rep = p.repetition_penalty, freq = p.frequency_penalty, pres = p.presence_penalty;
  if (biased) l = l + bias;  // every engine biases before its repetition sign test
  const auto c = static_cast<float>(count);
  switch (rules_.engine) {
    case ProcessorEngine::kVllmV1:
      // csrc/sampler.cu apply_repetition_penalties: a true division; then two torch ops.
      if (repeated) l = l > 0.0f ? l / rep : l * rep;
      if (count > 0) {
        l = l - freq * c;
        l = l - pres;
      }
      return l;
    case ProcessorEngine::kVllmV2:
      // _penalties_kernel: logits *= where(logits > 0, 1 / scale, scale); the frequency term one fma
      // where Triton fuses it (the presence term, pres * 1, is exact either way).
      if (repeated) l = l > 0.0f ? l * (1.0f / rep) : l * rep;
      if (count > 0) {
        l = rules_.fused_frequency ? std::fma(-freq, c, l) : l - freq * c;
        l = l - pres;
      }
      return l;
    case ProcessorEngine::kTransformers:
      // RepetitionPenaltyLogitsProcessor on the CPU: where(score < 0, score * p, score / p).
      if (repeated) l = l < 0.0f ? l * rep : l / rep;
      return l;
    case ProcessorEngine::kLlamacpp:
      // llama_sampler_penalties_apply: logit <= 0 multiplies; then -= c * freq + [c > 0] * present.
      if (repeated) {
        l = l <= 0.0f ? l * rep : l / rep;
        l = l - (c * freq + pres);
      }
      return l;
  }
  return l;
}

void MessageProcessors::apply(at::Tensor& logits, std::int64_t first_row, const VocabShard& vocab) const {
  if (!active()) return;
  const std::int64_t n = logits.size(0);
  FSSL_CHECK(logits.dim() == 2 && logits.size(1) == vocab.size && logits.scalar_type() == at::kFloat &&
                 logits.is_contiguous(),
             ReplayError, "logits processors: expected contiguous float32 logits [n, {}] (a {}-d tensor of width {})",
             vocab.size, logits.dim(), logits.dim() == 2 ? logits.size(1) : 0);
  FSSL_CHECK(first_row >= 0 && first_row + n - 1 <= static_cast<std::int64_t>(output_.size()), ReplayError,
             "logits processors: rows [{}, {}) need {} output tokens, the message has {}", first_row, first_row + n,
             first_row + n - 1, output_.size());
  if (n == 0) return;
  if (!processors_.allowed_token_ids.empty()) {
    std::vector<std::uint8_t> keep = allowed_columns(processors_, vocab);
    const at::Tensor dropped =
        at::from_blob(keep.data(), {vocab.size}, at::kByte).to(logits.device()).eq(0).unsqueeze(0);
    logits.masked_fill_(dropped, kNegInf);
  }
  ShardTouches s = shard_touches(rules_, processors_, MessageTokens{prompt_, output_, prompt_ids_, vocab_size_},
                                 first_row, n, vocab);
  if (s.flat.empty()) return;
  auto run = [&](float* values, bool gathered) {
    for (std::size_t k = 0; k < s.flat.size(); ++k) {
      float& v = values[gathered ? k : static_cast<std::size_t>(s.flat[k])];
      const Touch& t = s.touch[k];
      v = process(v, t.repeated, t.count, t.biased, t.bias, t.banned);
    }
  };
  if (logits.is_cpu()) {
    run(logits.data_ptr<float>(), false);
    return;
  }
  // On a device: gather the touched values, process them on the host, scatter them back (the rows
  // never leave the device; only the sparse entries cross).
  const auto count = static_cast<std::int64_t>(s.flat.size());
  const at::Tensor index = at::from_blob(s.flat.data(), {count}, at::kLong).to(logits.device());
  at::Tensor flat = logits.view({-1});
  at::Tensor values = flat.index_select(0, index).to(at::kCPU).contiguous();
  run(values.data_ptr<float>(), true);
  flat.index_copy_(0, index, values.to(logits.device()));
}

}  // namespace fssl
