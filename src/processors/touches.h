// The sparse per-row state of a message's processors (fssl/processors.h): for each logit row, the
// columns its processors touch and why. Private to src/processors/.
#pragma once

#include <cstdint>
#include <vector>

#include "fssl/processors.h"

namespace fssl {

// One column of one row that a processor touches.
struct Touch {
  std::int32_t id = 0;     // global token id
  std::int32_t count = 0;  // c_i: its count in the penalty counts (vLLM: output so far; llama.cpp: window)
  bool repeated = false;   // in the repetition penalty's context
  bool biased = false;
  bool banned = false;     // -inf: min_tokens' stop ids, a bad word's last token
  float bias = 0.0f;
};

// The touched columns of rows [first_row, first_row + n) that lie in `vocab`'s shard: flat[k] is
// row * vocab.size + (id - vocab.begin) in the [n, vocab.size] shard, touch[k] its state.
struct ShardTouches {
  std::vector<std::int64_t> flat;
  std::vector<Touch> touch;
};

struct MessageTokens {
  const std::vector<std::int32_t>& prompt;
  const std::vector<std::int32_t>& output;
  const std::vector<std::int32_t>& prompt_ids;  // distinct prompt ids
  std::int64_t vocab_size;
};

ShardTouches shard_touches(const ProcessorRules& rules, const LogitsProcessors& p, const MessageTokens& tokens,
                           std::int64_t first_row, std::int64_t n, const VocabShard& vocab);

}  // namespace fssl
