// Verifying one logged message: replay prompt + output by one prefill on the TP group's model,
// re-derive the sampler's noise from the logged seed and profile, and score every output token
// (scoring.h). A message fssl cannot score faithfully is *unverifiable*, with a reason, never
// scored against a guessed stream: unknown or malformed profile, inverse-CDF profile (IPT-LS is not
// scored yet), parameters out of range, a token id outside the model's vocabulary, or a logged
// logits width different from the model's.
// Collective over the model's communicator: every rank of the group calls with the same record.
#pragma once

#include <string>

#include "fssl/archive.h"
#include "fssl/model.h"
#include "fssl/scoring.h"

namespace fssl {

struct MessageScores {
  bool verifiable = false;
  std::string unverifiable_reason;  // set when !verifiable
  ScoreBatch scores;                // one row per output token when verifiable
};

// Empty if fssl can score `record` with `model`, else the reason it is unverifiable.
std::string verify_check(const Model& model, const LogRecord& record);

MessageScores verify_message(Model& model, const LogRecord& record, const ScoreConfig& config);

}  // namespace fssl
