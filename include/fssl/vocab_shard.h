// The vocabulary columns one rank of a tensor-parallel group holds. The model splits its V logit
// columns into equal shards of Vp = ceil(V / t) columns; rank r holds global ids
// [begin, begin + size), of which the first `valid` are real tokens and the rest pad the last
// rank's shard to Vp (logits -inf there, noise any positive value). Returned by
// Model::vocab_shard() and taken by the noise, sampler and scoring functions that work on a
// shard, so the four numbers travel together. Torch-free, header-only.
#pragma once

#include <cstdint>

namespace fssl {

struct VocabShard {
  std::int64_t begin = 0;  // global id of the first column
  std::int64_t size = 0;   // Vp: columns of every rank's shard, padding included
  std::int64_t valid = 0;  // real (non-padding) columns here: min(size, full - begin), >= 0
  std::int64_t full = 0;   // V: the model's vocabulary size

  // The whole vocabulary on one rank (no tensor parallelism).
  static VocabShard whole(std::int64_t vocab) { return {0, vocab, vocab, vocab}; }
  // Rank `rank` of `ranks` sharing a vocabulary of `vocab` ids.
  static VocabShard of_rank(std::int64_t vocab, int rank, int ranks) {
    const std::int64_t size = (vocab + ranks - 1) / ranks;
    const std::int64_t begin = rank * size;
    const std::int64_t left = vocab - begin;
    return {begin, size, left < 0 ? 0 : (left < size ? left : size), vocab};
  }
};

}  // namespace fssl
