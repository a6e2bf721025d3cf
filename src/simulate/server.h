// State of one simulated server run, shared by simulate/simulate.cpp (decode loop, archive) and
// simulate/adversary.cpp (what a dishonest server changes). Private to simulate*.cpp.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "fssl/archive.h"
#include "fssl/model.h"
#include "fssl/noise.h"
#include "fssl/processors.h"
#include "fssl/sampler_profile.h"
#include "fssl/simulate.h"
#include "fssl/stego.h"

namespace fssl {

struct Message {
  LogRecord record;
  SamplerProfile profile;
  SamplerParams params;                 // the logged parameters as the profile applies them
  KvCache cache;
  bool done = false;
  std::uint64_t index = 0;              // position in the run (0, 1, 2, ...)
  bool adversarial = false;
  std::uint64_t payload_start = 0;      // first payload bit this message carries
  std::uint64_t payload_next = 0;       // next payload bit to embed
  std::vector<std::int64_t> positions;  // output positions that carry payload bits
  std::vector<int> bits_at;             // ... and how many each
  std::vector<std::int64_t> forced;     // positions a buggy processor replaced
  std::optional<LlamacppUniformStream> uniforms;  // llamacpp-dist: the message's dist stream
  // The processors its client set, as the server applies them (borrows record.prompt and
  // record.output: a Message stays where the batch vector constructed it).
  std::optional<MessageProcessors> processors;
};

struct Server {
  const SimulateOptions& o;
  Model& model;
  Adversary adversary = Adversary::kNone;
  BugMode bug = BugMode::kNone;
  std::optional<PayloadBits> payload;
  std::mt19937_64 bug_rng;              // the buggy processor's coin, the same on every rank
};

// Replaces the tokens of adversarial messages among `active` (tokens[a] belongs to active[a]) by
// payload-carrying ones, chosen from the clean logits (before injected noise) and the honest noise
// of the logged seed (undefined for inverse-CDF profiles, which admissible-stego refuses).
// Collective over the model's communicator.
void adversary_step(Server& server, std::vector<Message>& batch, const std::vector<std::size_t>& active,
                    const at::Tensor& clean_logits, const ProfileNoise& noise, std::vector<std::int64_t>& tokens);

// The buggy logits processor: with probability 1 % per token, one of the 20 most probable.
void buggy_processor_step(Server& server, std::vector<Message>& batch, const std::vector<std::size_t>& active,
                          const at::Tensor& logits, std::vector<std::int64_t>& tokens);

// What the server does to a step's logits before it samples (simulate/server_logits.cpp).
// Gaussian logit noise for (message, step), identical on every rank for its columns.
at::Tensor logit_noise_row(const SimulateOptions& o, std::uint64_t message, std::int64_t step,
                           const VocabShard& vocab);
// The clients' processors on this step's rows as the server applies them: in place on `logits`
// (what the server samples from), and on a copy of the clean logits (what the adversary and the
// rank-keyed noise see), returned; undefined when no active message has processors. Local.
at::Tensor process_rows(const std::vector<Message>& batch, const std::vector<std::size_t>& active,
                        const at::Tensor& clean, at::Tensor& logits, const VocabShard& vocab);

}  // namespace fssl
