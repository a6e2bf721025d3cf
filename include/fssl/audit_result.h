// What an audit keeps of each sampled message: its identity, whether it could be scored (and
// why not), and the per-token scores as plain columns. Leaders build these from verify_message's
// tensors and send them to the coordinator, which journals them (checkpoint), reduces them into
// AuditStats and writes them to results.h5 (docs/results-format.md). Plain vectors, so a result
// crosses MPI and the journal as CBOR without libtorch and is compared exactly after a resume.
// Nothing here is collective; results are values (copyable, no handles).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/verify.h"

namespace fssl {

enum class MessageStatus : std::uint8_t {
  kScored = 0,        // replayed and scored
  kUnverifiable = 1,  // read, but fssl cannot score it faithfully (reason says why)
  kQuarantined = 2,   // its shard could not be read (reason says why)
};
const char* message_status_name(MessageStatus status);

// One row per output token. Gumbel-max profiles (scoring.h) and inverse-CDF ones
// (scoring_ipt.h) share the columns; `margin` is Delta in logits for the former and the
// interval distance in probability for the latter, `likelihood` GM-LS or IPT-LS.
struct TokenScores {
  std::vector<std::uint8_t> exact;        // [n] 0/1
  std::vector<std::uint8_t> tier;         // [n] TokenTier
  std::vector<float> margin;              // [n]
  std::vector<float> likelihood;          // [n * n_sigmas], row-major
  std::vector<std::int64_t> logit_rank;   // [n]
  std::vector<std::int64_t> gumbel_rank;  // [n], -1: infinite (filtered) or inverse-CDF
  std::vector<std::int64_t> admissible;   // [n * n_grid], row-major
  std::vector<double> bits;               // [n] bits the three-tier classifier charges
  std::size_t size() const { return exact.size(); }
};

struct MessageResult {
  MessageRef ref;
  std::uint64_t message_id = 0;
  std::int64_t timestamp_us = 0;
  std::string server, model, profile;
  MessageStatus status = MessageStatus::kScored;
  std::string reason;         // why unverifiable or quarantined; "" when scored
  bool inverse_cdf = false;   // scored with IPT-LS (llamacpp-dist)
  std::uint64_t prompt_tokens = 0;
  TokenScores tokens;         // empty unless scored
};

// The columns of score tensors (scoring.h, scoring_ipt.h).
TokenScores token_scores(const ScoreBatch& scores);
TokenScores token_scores(const IptScoreBatch& scores);

// A scored (or unverifiable, per `scores.verifiable`) message's result.
MessageResult message_result(const MessageRef& ref, const LogRecord& record, const MessageScores& scores);
// A message that was not scored; `record` may be a default record when it could not be read.
MessageResult message_not_scored(const MessageRef& ref, const LogRecord& record, MessageStatus status,
                                 const std::string& reason);

// CBOR bytes and back (MPI transfer and the journal). results_from_bytes throws CommError on
// malformed input.
std::vector<std::uint8_t> results_to_bytes(const std::vector<MessageResult>& results);
std::vector<MessageResult> results_from_bytes(const std::vector<std::uint8_t>& bytes);

}  // namespace fssl
