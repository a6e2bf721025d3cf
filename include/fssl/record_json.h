// JSON forms of a record's format-v2 parts (logits processors, engine tag), shared by `fssl archive
// export`, import (docs/archive-format.md section 5) and the audit's record transfer, so that all
// three name and read each field the same way. Pure values; not collective.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

#include "fssl/archive.h"

namespace fssl {

// A processor field the reader does not accept: its message names the key and what is wrong.
class ProcessorsJsonError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The processors as the keys of a `sampler` object: every field, vLLM's SamplingParams names,
// logit_bias as [[token id, bias], ...] in logged order, bad_words as token-id sequences.
nlohmann::json processors_to_json(const LogitsProcessors& p);

// The processor keys of a `sampler` object into *p: vLLM's SamplingParams names, the OpenAI request
// forms (logit_bias as {"token id": bias}) and llama.cpp's (repeat_penalty, penalty_last_n /
// repeat_last_n). `other_keys` are the object's keys that are not processors (profile, ...): any
// key in neither set throws ProcessorsJsonError naming it, as does a value of the wrong type.
void processors_from_json(const nlohmann::json& sampler, const std::vector<std::string>& other_keys,
                          LogitsProcessors* p);

// The engine tag as {"name", "version", "model_runner"} and back (missing keys: "").
nlohmann::json engine_tag_to_json(const EngineTag& e);
EngineTag engine_tag_from_json(const nlohmann::json& j);

}  // namespace fssl
