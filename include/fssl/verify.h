// Verifying one logged message: replay prompt + output by one prefill on the TP group's model,
// re-derive the sampler's noise from the logged seed and profile, and score every output token
// (scoring.h). A message fssl cannot score faithfully is *unverifiable*, with a reason, never
// scored against a guessed stream: unknown or malformed profile, parameters out of range, a token
// id outside the model's vocabulary, a logged logits width different from the model's, or a seed
// wider than the engine's (llama.cpp seeds are 32-bit). Gumbel-max profiles are scored with
// scoring.h, inverse-CDF ones (llamacpp-dist) with scoring_ipt.h.
// Collective over the model's communicator: every rank of the group calls with the same record.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "fssl/archive.h"
#include "fssl/model.h"
#include "fssl/results.h"
#include "fssl/scoring.h"
#include "fssl/scoring_ipt.h"

namespace fssl {

// Why a message was not scored (verify.h's first paragraph lists the reasons).
struct Unverifiable {
  std::string reason;
};

// What replaying one message gave: unverifiable with a reason, or one row per output token,
// scored by Gumbel-max (ScoreBatch, scoring.h) or by inverse CDF (IptScoreBatch, scoring_ipt.h).
using MessageScores = std::variant<Unverifiable, ScoreBatch, IptScoreBatch>;

inline bool verifiable(const MessageScores& s) { return !std::holds_alternative<Unverifiable>(s); }
// The reason `s` is unverifiable; empty when it was scored.
inline std::string unverifiable_reason(const MessageScores& s) {
  const auto* u = std::get_if<Unverifiable>(&s);
  return u ? u->reason : std::string();
}

// Empty if fssl can score `record` with `model`, else the reason it is unverifiable.
std::string verify_check(const Model& model, const LogRecord& record);

// A batch of messages by one packed prefill (each record its own segment); result i is
// records[i]. Unverifiable records are left out of the prefill. Collective like verify_message.
std::vector<MessageScores> verify_messages(Model& model, const std::vector<LogRecord>& records,
                                           const ScoreConfig& config, const IptConfig& ipt_config = IptConfig{});

MessageScores verify_message(Model& model, const LogRecord& record, const ScoreConfig& config,
                             const IptConfig& ipt_config = IptConfig{});

// The columns of score tensors (scoring.h, scoring_ipt.h), for results.h (src/replay/columns.cpp).
TokenScores token_scores(const ScoreBatch& scores);
TokenScores token_scores(const IptScoreBatch& scores);

// A scored (or unverifiable) message's result.
MessageResult message_result(const MessageRef& ref, const LogRecord& record, const MessageScores& scores);

}  // namespace fssl
