// Logits processors as the serving engines apply them: what turns the model's raw logits l into
// the logits l' a server sampled from (verification-math.md §15, docs/sampler-spec.md §10).
//
// A message's processors (archive.h: LogitsProcessors) act on output row j (0-based: the row that
// predicts the j-th emitted token) through per-row state built from the logged tokens alone: the
// prompt, the output tokens before j and the request's parameters. The state of a row is sparse —
// the ids it repeats, biases or bans — and is never a [tokens x V] tensor; `allowed_token_ids`
// is the one dense part, a per-message column mask.
//
// Each engine's order and float32 arithmetic, for a column i of row j (c_i its count, below):
//   vLLM V1 (vllm-cuda, fssl-philox): allowed-ids mask, bad words, min_tokens (stop ids -inf while
//     j < min_tokens), l += bias, repetition (i in prompt or output[0, j): l > 0 ? l / p : l * p),
//     l -= RN(f * c_i), l -= pres * [c_i > 0]; c_i counts output[0, j) only.
//   vLLM V2 (vllm-mrv2): allowed ids, l += bias, min_tokens (stop ids -inf while j < min_tokens, or
//     j <= min_tokens before vllm#46243: `min_tokens_late`), repetition as l * RN(1 / p) for l > 0
//     (Triton's kernel multiplies by the reciprocal), frequency as one fma(-f, c_i, l) where Triton
//     fused it (`fused_frequency`), presence, then bad words.
//   transformers (hf-torch-cpu): sequence bias, repetition (l < 0 ? l * p : l / p over prompt and
//     output), bad words (prefixes matched over prompt + output), min_new_tokens (stop ids -inf while
//     j < min_tokens), allowed ids. No presence or frequency penalty exists there.
//   llama.cpp (llamacpp-dist): logit bias, then its penalties sampler over the last repeat_last_n
//     tokens of prompt + output[0, j) (-1: all of them), c_i counted in that window:
//     l <= 0 ? l * p : l / p, then l -= RN(RN(c_i * f) + RN([c_i > 0] * pres)). No min_tokens,
//     bad words or allowed ids there.
// Masks are -inf and stay -inf through every later step, so the engines' different mask orders
// give the same rows; the order that matters (bias before the repetition sign test) is the same in
// all four.
//
// Vocab-parallel: each rank applies the processors to its own columns [vocab.begin, + vocab.valid);
// nothing crosses ranks. Local (no collectives).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/sampler_profile.h"
#include "fssl/vocab_shard.h"

namespace fssl {

enum class ProcessorEngine : std::uint8_t { kVllmV1, kVllmV2, kTransformers, kLlamacpp };

// How one server applies processors: its engine's order and the arithmetic its build fixed.
struct ProcessorRules {
  ProcessorEngine engine = ProcessorEngine::kVllmV1;
  bool fused_frequency = false;  // vLLM V2 under Triton with FP fusion: l - f c rounded once
  bool min_tokens_late = false;  // vLLM V2 before vllm#46243: stop ids masked one row longer
};

// The rules of `profile`'s server (sampler_profile.h); sglang has none (processors_problem says so).
ProcessorRules processor_rules(const SamplerProfile& profile);

// Why a message's processors cannot be replayed under `profile` ("" when they can, or when none is
// active): a processor its engine does not have (presence penalty under transformers, min_tokens
// under llama.cpp), a window its engine does not take, SGLang's penalizers (not replayed).
std::string processors_problem(const SamplerProfile& profile, const LogitsProcessors& processors);

// The processor state of one message, built from its logged tokens (the vectors are borrowed and
// must outlive this object). vocab_size: V, the width of the logit rows.
class MessageProcessors {
 public:
  MessageProcessors(const ProcessorRules& rules, const LogitsProcessors& processors,
                    const std::vector<std::int32_t>& prompt, const std::vector<std::int32_t>& output,
                    std::int64_t vocab_size);

  bool active() const { return processors_.active(); }

  // Rows [first_row, first_row + logits.size(0)) of the message: logits [n, vocab.size] float32,
  // this rank's shard, on any device, processed in place. Needs output[0, first_row + n - 1): the
  // simulator calls it with the output decoded so far, one row at a time.
  void apply(at::Tensor& logits, std::int64_t first_row, const VocabShard& vocab) const;

 private:
  // One processed logit: the engine's arithmetic for a touched column (repeated: in the repetition
  // context; count: c_i).
  float process(float logit, bool repeated, std::int32_t count, bool biased, float bias, bool banned) const;

  ProcessorRules rules_;
  LogitsProcessors processors_;
  const std::vector<std::int32_t>& prompt_;
  const std::vector<std::int32_t>& output_;
  std::int64_t vocab_size_;
  std::vector<std::int32_t> prompt_ids_;  // distinct prompt ids, ascending (repetition context)
};

}  // namespace fssl
