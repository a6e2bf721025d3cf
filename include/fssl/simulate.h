// A simulated inference server (`fssl simulate`): runs a model the way a serving stack does —
// batched decode with a KV cache per message, a logged seed and sampler profile per message — and
// appends what it emitted to a sharded archive, so audits are tested on traffic whose ground truth
// is known.
//
// Benign nondeterminism (what makes honest traffic differ from the verifier's replay the way
// production does, docs/simulator.md):
//   * decode vs prefill: the server computes each token's logits in a decode step (one new row
//     against the KV cache); the verifier replays the whole message in one packed prefill, so the
//     GEMM shapes and hence float rounding differ even at the same dtype;
//   * compute dtype: the server may run bf16 while the verifier runs fp32;
//   * tensor parallelism: the server's TP degree (its communicator's size) need not match the
//     verifier's; partial sums are reduced in another order;
//   * injected Gaussian logit noise of a given sigma (stands in for kernels or hardware the
//     simulation does not have).
// Dishonest servers (stego.h): an adversary hiding a payload in a fraction of the messages, or a
// bug mode. Ground truth goes to a JSONL sidecar next to the archive (ARCHIVE.truth.jsonl, one
// line per message: message_id, adversarial, payload_start, bits, positions, bits_at, and forced:
// the positions where a buggy processor changed the token).
// admissible-stego decodes every message alone (batch 1) so that its receiver can replay the
// exact logits it chose from.
//
// Threads/ranks: collective over `comm`, the server's TP group: every rank runs the model shard
// and samples the same tokens; rank 0 alone writes the archive. Throws ConfigError for bad options
// (unknown profile, parameters out of range, unreadable prompts file), ModelError for the model.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fssl/comm.h"
#include "fssl/sampler.h"

namespace fssl {

struct SimulateOptions {
  std::string model_dir;
  std::string model_name = "sim-model";        // logged model name
  std::string archive_dir;                      // created or appended to
  std::string key_file;                         // HMAC key; empty = hash chain only
  std::uint64_t shard_messages = 4096;
  std::uint64_t messages = 64;
  std::uint64_t seed = 1;                       // drives prompts, message seeds and logit noise
  std::optional<std::uint64_t> fixed_seed;      // every message samples with this seed
  // Prompts: a JSONL file with {"prompt": [ids...]} per line (cycled), or random tokens with
  // log-normal lengths (median exp(prompt_log_mean)), clamped to [1, prompt_max].
  std::string prompts_file;
  double prompt_log_mean = 3.5;
  double prompt_log_sd = 0.6;
  std::int64_t prompt_max = 512;
  std::int64_t max_tokens = 64;                 // output tokens per message at most
  std::vector<std::int32_t> stop_tokens;        // emitted, then the message ends
  std::string profile = "fssl-philox";          // sampler profile spec (docs/sampler-spec.md)
  SamplerParams params;
  std::string processors = "none";              // none | random: clients' logits processors per message
  std::int64_t batch = 8;                       // messages decoded together
  std::string dtype = "fp32";                   // server compute dtype: fp32 | bf16
  double logit_noise = 0.0;                     // sigma of injected Gaussian logit noise
  int n_threads = 0;                            // intra-op threads (0: libtorch's default)
  std::string server_prefix = "sim";            // servers are <prefix>-0 .. <prefix>-(n_servers - 1)
  int n_servers = 4;
  std::int64_t start_time_us = 1764115200000000;  // 2025-11-26T00:00:00Z; messages 1 s apart
  std::string adversary = "none";               // none | random-tokens | topk-stego | admissible-stego
  double adversary_fraction = 1.0;              // share of messages the adversary takes
  std::string payload_file;                     // bits to hide; empty: the model's own weights
  int stego_bits = 2;                           // topk-stego: bits per token (choices among 2^b)
  double stego_margin = 1.0;                    // admissible-stego: the verifier's margin threshold delta
  std::string bug = "none";                     // none | buggy-processor | wrong-temperature | wrong-seed |
                                                // quantized-4bit | quantized-8bit | unlogged-processors
  std::int64_t quantize_group = 32;             // quantized-*: inputs per quantization group
};

struct SimulateSummary {
  std::uint64_t messages = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t adversarial_messages = 0;
  std::uint64_t embedded_bits = 0;              // payload bits hidden in all messages
  double seconds = 0.0;
};

// Collective over `comm` (the server's tensor-parallel group): rank 0 writes the archive and the
// truth file, and every rank returns after both are closed, so any rank may read them next.
SimulateSummary simulate(const SimulateOptions& options, Communicator& comm);

// Where simulate writes the ground truth of `archive_dir`.
std::string simulate_truth_path(const std::string& archive_dir);

}  // namespace fssl
