// The two forward calls of KV-cache decode, shared by the simulated server (simulate/simulate.cpp) and the
// admissible-stego receiver (simulate/stego_decode.cpp): the receiver must see bit-identical logits, so it
// must run the very same calls with the same shapes. Private to simulate*.cpp and stego*.cpp.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "fssl/model.h"

namespace fssl {

// Prefills every prompt into its (fresh) cache in one packed forward; returns the logit shard rows
// [n, Vp] of each prompt's last token. Collective.
inline at::Tensor decode_prefill(Model& model, const std::vector<const std::vector<std::int32_t>*>& prompts,
                                 const std::vector<KvCache*>& caches) {
  std::vector<std::int64_t> tokens, last_rows;
  std::vector<Segment> segments;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    *caches[i] = model.kv_cache_new();
    const auto start = static_cast<std::int64_t>(tokens.size());
    tokens.insert(tokens.end(), prompts[i]->begin(), prompts[i]->end());
    segments.push_back({start, static_cast<std::int64_t>(prompts[i]->size()), caches[i]});
    last_rows.push_back(static_cast<std::int64_t>(tokens.size()) - 1);
  }
  at::Tensor hidden = model.forward_hidden(at::tensor(tokens, at::kLong), segments);
  return model.logits_shard(hidden.index_select(0, at::tensor(last_rows, at::kLong)));
}

// One decode step: token i continues cache i. Returns the logit shard rows [n, Vp]. Collective.
inline at::Tensor decode_step(Model& model, const std::vector<std::int64_t>& tokens, const std::vector<KvCache*>& caches) {
  std::vector<Segment> segments;
  for (std::size_t i = 0; i < tokens.size(); ++i) segments.push_back({static_cast<std::int64_t>(i), 1, caches[i]});
  return model.logits_shard(model.forward_hidden(at::tensor(tokens, at::kLong), segments));
}

}  // namespace fssl
