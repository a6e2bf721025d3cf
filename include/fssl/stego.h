// What a dishonest simulated server does (simulate.h): steganographic adversaries that hide a
// payload in which tokens they emit, and the bug modes a misconfigured honest server shows.
//
// Adversaries (docs/simulator.md), each embedding the bits of a payload file, most significant
// bit first, cycled:
//   random-tokens     every token is the next floor(log2 V) payload bits read as a token id;
//   topk-stego        every token is the (next b bits)-th most probable token (raw logits, ties
//                     by id): choices among the top 2^b;
//   admissible-stego  the adversary the capacity bound is about: it knows the seed, the
//                     verifier's margin threshold delta and the logits, and at each position
//                     emits the (next floor(log2 |A_t(delta)|) bits)-th token of A_t(delta), the
//                     tokens whose margin is <= delta (the verifier's own boundary-aware margin,
//                     scoring.h), most plausible first (perturbed logit, then id). Its receiver
//                     recovers the bits from the tokens and the seed (admissible_stego_decode).
// Bug modes: buggy-processor (with probability 1 % a token is replaced by a uniformly random one
// of the 20 most probable), wrong-temperature (samples at 1.1 T, logs T), wrong-seed (samples
// with seed + 1, logs seed), quantized-4bit / quantized-8bit (the server's linear weights rounded
// to 4- or 8-bit groups: a provider that swapped the model while logging the original),
// unlogged-processors (applies its clients' logits processors, logs none: a logging path that drops
// the request's penalties and biases).
//
// Threads/ranks: collective functions are called by every rank of a TP group with the same rows.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/comm.h"
#include "fssl/model.h"
#include "fssl/sampler.h"
#include "fssl/vocab_shard.h"

namespace fssl {

enum class Adversary { kNone, kRandomTokens, kTopkStego, kAdmissibleStego };
enum class BugMode {
  kNone,
  kBuggyProcessor,
  kWrongTemperature,
  kWrongSeed,
  kQuantized4,
  kQuantized8,
  kUnloggedProcessors
};

// "none", "random-tokens", ...; ConfigError listing the names otherwise.
Adversary adversary_parse(const std::string& name);
BugMode bug_mode_parse(const std::string& name);
const char* adversary_name(Adversary a);
const char* bug_mode_name(BugMode b);

// The bits of a payload, most significant bit of each byte first, cycled.
class PayloadBits {
 public:
  explicit PayloadBits(std::vector<std::uint8_t> bytes);  // ConfigError if empty
  // Bit i of the cycled payload.
  bool bit(std::uint64_t i) const;
  // Bits [offset, offset + n), n <= 63, as an integer (the first bit most significant).
  std::uint64_t read(std::uint64_t offset, int n) const;

 private:
  std::vector<std::uint8_t> bytes_;
};

// Up to max_bytes of a file (ConfigError naming it if unreadable or empty). For the default
// payload, the model's own weights: skip the safetensors header, then read.
std::vector<std::uint8_t> payload_read(const std::string& file, std::size_t max_bytes, bool skip_safetensors_header);

// Ids of the k largest raw logits of each row ([n, Vp] shards), largest first, ties by id:
// [n, k] int64, the same on every rank. Collective.
at::Tensor global_top_ids(const at::Tensor& logits, std::int64_t k, Communicator& comm);

// A_t(delta) of each row: the ids whose boundary-aware margin (scoring.h) is <= delta, by
// perturbed logit l + T G descending, then id. logits/noise/gumbel as in score_gumbel_rows. Collective.
std::vector<std::vector<std::int64_t>> admissible_sets(const at::Tensor& logits, const at::Tensor& noise,
                                                       const at::Tensor& gumbel, const SamplerParams& params,
                                                       const VocabShard& vocab, double delta, Communicator& comm);

// The admissible-stego receiver: replays `record` on `model` the way the simulated adversary
// decoded it (alone, KV-cache decode in the server's dtype), re-derives A_t(delta) from the seed
// and returns the embedded bits in order. Throws ReplayError if a token is outside its A_t (not
// this adversary's traffic). Collective over the model's communicator.
std::vector<bool> admissible_stego_decode(Model& model, const LogRecord& record, double delta);


}  // namespace fssl
