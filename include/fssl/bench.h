// Benchmarks (`fssl bench ...`): side-by-side measurements taken in one run, printed as a
// '#'-prefixed table. Never used by tests; numbers go to docs/performance.md with their command.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fssl {

struct ArchiveBenchOptions {
  std::string scratch_dir;                    // archives are written here (removed afterwards)
  std::uint64_t n_messages = 20000;
  std::uint32_t vocab_size = 128256;          // Llama-3 vocabulary: ids need 17 bits
  std::vector<std::uint64_t> tokens_chunks = {4096, 8192, 16384, 65536};
  std::uint64_t n_reads = 1000;               // random single-message reads per layout
  std::uint64_t batch_size = 64;              // messages per batched read
  std::uint64_t manifest_shards = 10000;      // planning check: shards of a 10^9-message manifest
  std::uint64_t seed = 1;
};

struct PrefillBenchOptions {
  std::string model_dir;               // a Hugging Face model directory, or
  std::string shape;                   // a named shape (model.h model_shape) with random weights
  std::string device = "cpu";          // cpu | cuda | cuda:N (plain cuda: the rank's local GPU)
  std::vector<int> threads = {1, 2};   // CPU intra-op thread counts, one measurement each
  std::int64_t n_sequences = 0;        // sequences in the packed batch (0: 8 on CPU, 4 on CUDA)
  std::int64_t sequence_length = 0;    // maximum length (0: 512 on CPU, 2048 on CUDA)
  bool fixed_length = false;           // every sequence sequence_length tokens (always on CUDA when
                                       // sequence_length is 0: tools/bench_gpu_anchor.py's 4 x 2,048)
  int repeats = 3;                     // timed passes after one warm-up; the best is reported
  std::string dtype = "f32";           // compute dtype: f32 | bf16 | f16 (f16 on CUDA only)
  std::uint64_t seed = 1;              // weights of --shape
  bool json = false;                   // one JSON object per measurement instead of the table
};

// Token id i of the benchmark batch: (i * 2654435761 + 12345) mod V, and the length of sequence s:
// 32 + ((s * 2654435761 + 7) mod 2^32) mod (max_length - 31), i.e. spread over [32, max_length]
// like real messages. tools/bench_transformers.py uses the same formulas: identical inputs.
std::int64_t bench_token_id(std::int64_t i, std::int64_t vocab_size);
std::int64_t bench_sequence_length(std::int64_t s, std::int64_t max_length);

// Times packed prefill (hidden states for every token plus the logit shard of every position, in
// chunks) at TP = 1, next to a matmul peak measured in the same run: on the CPU per thread count
// (float products of the compute dtype), on CUDA once (bf16 8192^3 at::mm, best of 5 after a
// warm-up, the device synchronised around every timed region). Prints tokens/s with logits and
// with hidden states only, FLOP/s (2 x matmul parameters x tokens) and MFU, and on CUDA the peak
// memory held in tensors. The model comes from model_dir or, with `shape`, Model::random.
void bench_prefill(const PrefillBenchOptions& options);

struct ScoreBenchOptions {
  std::vector<std::int64_t> vocab_sizes = {32000, 128256};
  std::vector<int> threads = {1, 2};
  std::int64_t n_tokens = 512;        // scored by fssl per configuration
  std::int64_t rows_per_call = 128;   // rows per score_gumbel_rows call (a message's outputs)
  std::int64_t naive_tokens = 64;     // scored by the per-token loop (slow; rate extrapolated)
  std::int32_t top_k = 50;
  float top_p = 0.95f;
  std::uint64_t seed = 1;
  bool json = false;                  // one JSON line per configuration instead of the table
};

// Scored tokens/s of score_gumbel_rows (TP = 1) and of a per-token loop scoring the way the
// paper's public code does (full-vocabulary sorts per token), on the same data, per V and threads.
void bench_score(const ScoreBenchOptions& options);

// Writes one synthetic archive per /tokens chunk size and measures, per layout: write rate,
// stored bytes per token, random single-message and batched read time per message, and full
// validation time. Then times reading a manifest that describes 10^9 messages. Prints the table.
void bench_archive(const ArchiveBenchOptions& options);

}  // namespace fssl
