// JSON forms of the format-v2 record parts (fssl/record_json.h).
#include "fssl/record_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace fssl {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& what) { throw ProcessorsJsonError(what); }

float number(const json& v, const std::string& key) {
  if (!v.is_number()) refuse(fmt::format("'sampler.{}' must be a number, got {}", key, v.dump()));
  return v.get<float>();
}

std::int32_t int32(const json& v, const std::string& key) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < std::numeric_limits<std::int32_t>::min() ||
      v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
    refuse(fmt::format("'sampler.{}' must be a 32-bit integer, got {}", key, v.dump()));
  }
  return static_cast<std::int32_t>(v.get<std::int64_t>());
}

std::int32_t token_id(const json& v, const std::string& key) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > INT32_MAX) {
    refuse(fmt::format("'sampler.{}' holds {}, not a token id", key, v.dump()));
  }
  return static_cast<std::int32_t>(v.get<std::int64_t>());
}

std::vector<std::int32_t> token_ids(const json& v, const std::string& key) {
  if (!v.is_array()) refuse(fmt::format("'sampler.{}' must be an array of token ids, got {}", key, v.type_name()));
  std::vector<std::int32_t> ids;
  for (const json& t : v) ids.push_back(token_id(t, key));
  return ids;
}

// {"50256": -100} (OpenAI: string keys) or [[50256, -100], ...] (fssl export).
std::vector<std::pair<std::int32_t, float>> logit_bias(const json& v) {
  std::vector<std::pair<std::int32_t, float>> out;
  if (v.is_object()) {
    for (const auto& [key, bias] : v.items()) {
      std::size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || id < 0 || id > INT32_MAX) {
        refuse(fmt::format("'sampler.logit_bias' key '{}' is not a token id", key));
      }
      out.emplace_back(static_cast<std::int32_t>(id), number(bias, "logit_bias"));
    }
    // A JSON object has no order; store its pairs by ascending token id, not in the parser's
    // string order ("10" < "9"), so the digest of an imported record is predictable.
    std::sort(out.begin(), out.end());
    return out;
  }
  if (!v.is_array()) refuse("'sampler.logit_bias' must be {\"token id\": bias} or [[token id, bias], ...]");
  for (const json& pair : v) {
    if (!pair.is_array() || pair.size() != 2) refuse(fmt::format("'sampler.logit_bias' entry {} is not [id, bias]", pair.dump()));
    out.emplace_back(token_id(pair[0], "logit_bias"), number(pair[1], "logit_bias"));
  }
  return out;
}

std::vector<std::vector<std::int32_t>> bad_words(const json& v) {
  if (!v.is_array()) refuse("'sampler.bad_words' must be an array of token-id sequences");
  std::vector<std::vector<std::int32_t>> out;
  for (const json& word : v) {
    if (word.is_string()) {
      refuse("'sampler.bad_words' holds a string: log the token-id sequences the server banned (fssl has no tokenizer)");
    }
    out.push_back(token_ids(word, "bad_words"));
  }
  return out;
}

}  // namespace

json processors_to_json(const LogitsProcessors& p) {
  json bias = json::array();
  for (const auto& [id, value] : p.logit_bias) bias.push_back({id, value});
  return {{"repetition_penalty", p.repetition_penalty}, {"presence_penalty", p.presence_penalty},
          {"frequency_penalty", p.frequency_penalty},   {"min_tokens", p.min_tokens},
          {"repeat_last_n", p.repeat_last_n},           {"stop_token_ids", p.stop_token_ids},
          {"allowed_token_ids", p.allowed_token_ids},   {"logit_bias", bias},
          {"bad_words", p.bad_words}};
}

void processors_from_json(const json& sampler, const std::vector<std::string>& other_keys, LogitsProcessors* p) {
  for (const auto& [key, value] : sampler.items()) {
    if (std::find(other_keys.begin(), other_keys.end(), key) != other_keys.end()) continue;
    if (value.is_null()) continue;  // an unset optional, as vLLM and OpenAI clients write it
    const bool alias = key == "repeat_penalty" || key == "penalty_last_n";
    const std::string canonical = key == "repeat_penalty" ? "repetition_penalty" : key == "penalty_last_n" ? "repeat_last_n" : key;
    if (alias && sampler.contains(canonical) && !sampler[canonical].is_null()) {
      refuse(fmt::format("'sampler.{}' and its alias 'sampler.{}' are both set", canonical, key));
    }
    if (key == "repetition_penalty" || key == "repeat_penalty") {
      p->repetition_penalty = number(value, key);
    } else if (key == "presence_penalty") {
      p->presence_penalty = number(value, key);
    } else if (key == "frequency_penalty") {
      p->frequency_penalty = number(value, key);
    } else if (key == "min_tokens") {
      p->min_tokens = int32(value, key);
    } else if (key == "repeat_last_n" || key == "penalty_last_n") {
      p->repeat_last_n = int32(value, key);
    } else if (key == "stop_token_ids") {
      p->stop_token_ids = token_ids(value, key);
    } else if (key == "allowed_token_ids") {
      p->allowed_token_ids = token_ids(value, key);
    } else if (key == "logit_bias") {
      p->logit_bias = logit_bias(value);
    } else if (key == "bad_words") {
      p->bad_words = bad_words(value);
    } else {
      refuse(fmt::format("unknown key 'sampler.{}'", key));
    }
  }
}

json engine_tag_to_json(const EngineTag& e) {
  return {{"name", e.name}, {"version", e.version}, {"model_runner", e.model_runner}};
}

EngineTag engine_tag_from_json(const json& j) {
  return {j.value("name", ""), j.value("version", ""), j.value("model_runner", "")};
}

}  // namespace fssl
