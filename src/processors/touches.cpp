// Per-row processor state built from the logged tokens (touches.h): each row costs the distinct ids
// of its penalty context plus the biased and banned ids, never V.
#include "touches.h"

#include <algorithm>

namespace fssl {
namespace {

// Token counts of a multiset with its distinct ids listed (swap-removal keeps the list dense), so a
// row enumerates only the ids present. V-sized arrays, built once per apply() call.
class TokenCounts {
 public:
  explicit TokenCounts(std::int64_t vocab) : count_(static_cast<std::size_t>(vocab), 0), where_(count_.size(), -1) {}
  void add(std::int32_t id) {
    if (count_[static_cast<std::size_t>(id)]++ == 0) {
      where_[static_cast<std::size_t>(id)] = static_cast<std::int32_t>(ids_.size());
      ids_.push_back(id);
    }
  }
  void remove(std::int32_t id) {
    if (--count_[static_cast<std::size_t>(id)] > 0) return;
    const std::int32_t at = where_[static_cast<std::size_t>(id)];
    ids_[static_cast<std::size_t>(at)] = ids_.back();
    where_[static_cast<std::size_t>(ids_.back())] = at;
    ids_.pop_back();
  }
  std::int32_t count(std::int32_t id) const { return count_[static_cast<std::size_t>(id)]; }
  const std::vector<std::int32_t>& ids() const { return ids_; }

 private:
  std::vector<std::int32_t> count_, where_, ids_;
};

// One row's touches without duplicates: slot_[id] indexes row_ (reset by clear()).
class RowTouches {
 public:
  explicit RowTouches(std::int64_t vocab) : slot_(static_cast<std::size_t>(vocab), -1) {}
  Touch& at(std::int32_t id) {
    std::int32_t& s = slot_[static_cast<std::size_t>(id)];
    if (s < 0) {
      s = static_cast<std::int32_t>(row_.size());
      row_.push_back(Touch{});
      row_.back().id = id;
    }
    return row_[static_cast<std::size_t>(s)];
  }
  // Appends this row's touches inside the shard to `out`, then forgets them.
  void flush(std::int64_t row, const VocabShard& vocab, ShardTouches& out) {
    for (const Touch& t : row_) {
      slot_[static_cast<std::size_t>(t.id)] = -1;
      const std::int64_t col = t.id - vocab.begin;
      if (col < 0 || col >= vocab.valid) continue;
      out.flat.push_back(row * vocab.size + col);
      out.touch.push_back(t);
    }
    row_.clear();
  }

 private:
  std::vector<std::int32_t> slot_;
  std::vector<Touch> row_;
};

// Whether the sequence `tokens` [0, end) ends with word[0, L-1) (the word's prefix).
template <typename At>
bool ends_with_prefix(const std::vector<std::int32_t>& word, std::int64_t end, At at) {
  const auto prefix = static_cast<std::int64_t>(word.size()) - 1;
  if (prefix > end) return false;
  for (std::int64_t k = 0; k < prefix; ++k) {
    if (at(end - prefix + k) != word[static_cast<std::size_t>(k)]) return false;
  }
  return true;
}

}  // namespace

ShardTouches shard_touches(const ProcessorRules& rules, const LogitsProcessors& p, const MessageTokens& tokens,
                           std::int64_t first_row, std::int64_t n, const VocabShard& vocab) {
  ShardTouches out;
  const bool llamacpp = rules.engine == ProcessorEngine::kLlamacpp;
  const bool hf = rules.engine == ProcessorEngine::kTransformers;
  const bool repetition = p.repetition_penalty != 1.0f;
  const bool counted = !hf && (p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
  // llama.cpp's penalties sampler is empty with a zero window or with all three penalties off.
  const bool penalised = (repetition || counted) && !(llamacpp && p.repeat_last_n == 0);
  const auto P = static_cast<std::int64_t>(tokens.prompt.size());
  auto seq = [&](std::int64_t k) { return k < P ? tokens.prompt[static_cast<std::size_t>(k)]
                                                 : tokens.output[static_cast<std::size_t>(k - P)]; };
  // The penalty counts: vLLM counts output[0, j); llama.cpp its window over prompt + output[0, j).
  TokenCounts counts(tokens.vocab_size);
  auto window_start = [&](std::int64_t j) {
    return p.repeat_last_n < 0 ? std::int64_t{0} : std::max<std::int64_t>(0, P + j - p.repeat_last_n);
  };
  if (penalised) {
    for (std::int64_t k = llamacpp ? window_start(first_row) : P; k < P + first_row; ++k) counts.add(seq(k));
  }
  RowTouches row(tokens.vocab_size);
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t j = first_row + r;
    if (penalised) {
      if (repetition && !llamacpp) {
        for (std::int32_t id : tokens.prompt_ids) row.at(id).repeated = true;
      }
      for (std::int32_t id : counts.ids()) {
        Touch& t = row.at(id);
        t.repeated = t.repeated || repetition || llamacpp;
        t.count = counts.count(id);
      }
    }
    for (const auto& [id, bias] : p.logit_bias) {
      Touch& t = row.at(id);
      t.biased = true;
      t.bias = bias;
    }
    const bool min_tokens_on = p.min_tokens > 0 && (j < p.min_tokens || (rules.min_tokens_late && j == p.min_tokens));
    if (min_tokens_on) {
      for (std::int32_t id : p.stop_token_ids) row.at(id).banned = true;
    }
    for (const auto& word : p.bad_words) {
      if (word.size() == 1) {
        // transformers drops single-token bad words that are EOS ids (NoBadWordsLogitsProcessor).
        if (hf && std::count(p.stop_token_ids.begin(), p.stop_token_ids.end(), word[0]) > 0) continue;
        row.at(word[0]).banned = true;
      } else if (hf ? ends_with_prefix(word, P + j, seq)  // transformers matches over prompt + output
                    : ends_with_prefix(word, j, [&](std::int64_t k) { return tokens.output[static_cast<std::size_t>(k)]; })) {
        row.at(word.back()).banned = true;
      }
    }
    row.flush(r, vocab, out);
    // Row j + 1 sees output[j] too.
    if (penalised && r + 1 < n) {
      counts.add(seq(P + j));
      if (llamacpp) {
        for (std::int64_t k = window_start(j); k < window_start(j + 1); ++k) counts.remove(seq(k));
      }
    }
  }
  return out;
}

}  // namespace fssl
