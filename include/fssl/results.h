// What an audit keeps of each sampled message, and what a worker group reports for a batch: the
// message's identity, its outcome (scored, unverifiable or quarantined, with the reason), and the
// per-token scores as plain columns. Leaders build them (verify.h turns score tensors into
// columns) and send one BatchReport per batch to the coordinator, which journals the bytes it
// received (checkpoint), reduces them into AuditStats and writes them to results.h5
// (docs/results-format.md). Plain vectors without libtorch, so a result crosses MPI and the
// journal as CBOR and is compared exactly after a resume. Nothing here is collective; results
// are values (copyable, no handles).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fssl/archive.h"

namespace fssl {

enum class MessageStatus : std::uint8_t {
  kScored = 0,        // replayed and scored
  kUnverifiable = 1,  // read, but fssl cannot score it faithfully (reason says why)
  kQuarantined = 2,   // its shard could not be read (reason says why)
};
const char* message_status_name(MessageStatus status);

// The reason of a message whose record does not match the digest stored for its row: tampering
// (or corruption) the audit sees itself; the calibrated alarm rule alarms on it regardless.
inline constexpr const char* kTamperedRecordReason = "record content does not match its stored digest (tampered or corrupt)";

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

// A message's identity fields from its record, status kScored and no tokens yet.
MessageResult message_identity(const MessageRef& ref, const LogRecord& record);
// A message that was not scored; `record` may be a default record when it could not be read.
MessageResult message_not_scored(const MessageRef& ref, const LogRecord& record, MessageStatus status,
                                 const std::string& reason);

// CBOR bytes and back (MPI transfer and the journal). results_from_bytes throws CommError on
// malformed input.
std::vector<std::uint8_t> results_to_bytes(const std::vector<MessageResult>& results);
std::vector<MessageResult> results_from_bytes(const std::vector<std::uint8_t>& bytes);

// What a group leader reports for one finished batch (the payload of its next work request,
// audit_schedule.h), and what the journal stores for it, byte for byte as received.
struct BatchReport {
  std::uint64_t batch_id = 0;
  double seconds = 0.0;                // the group's time on it: read, broadcast, replay, score
  std::vector<MessageResult> results;  // in the batch's message order
};

// CBOR {"batch", "seconds", "results": results_to_bytes}. batch_report_decode throws CommError
// on malformed input.
std::vector<std::uint8_t> batch_report_encode(const BatchReport& report);
BatchReport batch_report_decode(const std::vector<std::uint8_t>& bytes);

}  // namespace fssl
