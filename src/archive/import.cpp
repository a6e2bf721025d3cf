// JSONL import (archive_import.h): parse and check each line, append its records, count bad lines.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <istream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "fssl/archive_import.h"
#include "fssl/engine_profile.h"
#include "fssl/record_json.h"

namespace fssl {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& reason, const std::string& detail) {
  throw ImportLineError(reason, reason + ": " + detail);
}

const json& field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) bad("missing field", fmt::format("'{}'", key));
  return *it;
}

std::uint64_t as_u64(const json& v, const char* key) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) bad("wrong type", fmt::format("'{}' is negative", key));
  bad("wrong type", fmt::format("'{}' must be a non-negative integer, got {}", key, v.type_name()));
}

std::int64_t as_i64(const json& v, const char* key) {
  if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX)) {
    return v.get<std::int64_t>();
  }
  bad("wrong type", fmt::format("'{}' must be a 64-bit integer, got {}", key, v.dump()));
}

// Seeds: Model Runner V2 and SGLang take int64 seeds (vLLM draws unseeded requests' seeds from the
// whole int64 range) and their kernels reinterpret them as uint64, so there a negative seed is its
// two's complement. Elsewhere a negative seed is refused: torch's manual_seed maps -s to 2^64 - 1 - s,
// llama.cpp's seeds are 32-bit.
std::uint64_t as_seed(const json& v, const char* key, const std::string& profile) {
  const bool signed_seed = profile.rfind("vllm-mrv2", 0) == 0 || profile.rfind("sglang", 0) == 0;
  if (signed_seed && v.is_number_integer() && !v.is_number_unsigned()) {
    return static_cast<std::uint64_t>(v.get<std::int64_t>());
  }
  return as_u64(v, key);
}

float as_float(const json& v, const char* key) {
  if (!v.is_number()) bad("wrong type", fmt::format("'{}' must be a number, got {}", key, v.type_name()));
  return v.get<float>();
}

std::string as_string(const json& v, const char* key) {
  if (!v.is_string()) bad("wrong type", fmt::format("'{}' must be a string, got {}", key, v.type_name()));
  return v.get<std::string>();
}

std::vector<std::int32_t> token_ids(const json& v, const char* key) {
  if (!v.is_array()) bad("wrong type", fmt::format("'{}' must be an array of token ids", key));
  std::vector<std::int32_t> ids;
  ids.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& t = v[i];
    if (!t.is_number_integer() || t.get<std::int64_t>() < 0 || t.get<std::int64_t>() > INT32_MAX ||
        (t.is_number_unsigned() && t.get<std::uint64_t>() > INT32_MAX)) {
      bad("wrong type", fmt::format("'{}'[{}] = {} is not a token id", key, i, t.dump()));
    }
    ids.push_back(static_cast<std::int32_t>(t.get<std::int64_t>()));
  }
  return ids;
}

std::int64_t timestamp_of(const json& line, std::int64_t fallback) {
  if (auto it = line.find("timestamp_us"); it != line.end()) return as_i64(*it, "timestamp_us");
  auto it = line.find("timestamp");
  if (it == line.end() || it->is_null()) return fallback;
  if (it->is_string()) {
    std::int64_t us = 0;
    if (!parse_rfc3339_us(it->get<std::string>(), &us)) {
      bad("wrong type", fmt::format("'timestamp' {} is not RFC 3339", it->dump()));
    }
    return us;
  }
  if (!it->is_number()) bad("wrong type", fmt::format("'timestamp' must be seconds or RFC 3339, got {}", it->dump()));
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > 9.2e12) bad("wrong type", "'timestamp' out of range");
  return std::llround(seconds * 1e6);
}

SamplerSettings sampler_of(const json& line, const SamplerSettings& defaults) {
  SamplerSettings s = defaults;
  auto it = line.find("sampler");
  if (it == line.end() || it->is_null()) return s;
  const json& j = *it;
  if (!j.is_object()) bad("wrong type", "'sampler' must be an object");
  if (j.contains("profile")) s.profile = as_string(j["profile"], "sampler.profile");
  if (j.contains("temperature")) s.temperature = as_float(j["temperature"], "sampler.temperature");
  if (j.contains("top_k") && !j["top_k"].is_null()) {
    // vLLM logs -1 for "disabled"; the archive uses 0.
    const std::int64_t k = as_i64(j["top_k"], "sampler.top_k");
    if (k < -1 || k > INT32_MAX) bad("invalid record", fmt::format("sampler.top_k {} out of range", k));
    s.top_k = k < 0 ? 0 : static_cast<std::int32_t>(k);
  }
  if (j.contains("top_p") && !j["top_p"].is_null()) s.top_p = as_float(j["top_p"], "sampler.top_p");
  if (j.contains("min_p") && !j["min_p"].is_null()) s.min_p = as_float(j["min_p"], "sampler.min_p");
  // The logits processors (format v2), under vLLM's SamplingParams names; any other key is refused.
  try {
    processors_from_json(j, {"profile", "temperature", "top_k", "top_p", "min_p"}, &s.processors);
  } catch (const ProcessorsJsonError& e) {
    bad(std::string(e.what()).rfind("unknown key", 0) == 0 ? "unknown field" : "wrong type", e.what());
  }
  return s;
}

// The line's `engine` object (docs/archive-format.md §5): every key known, else the line is bad.
EngineIdentity engine_of(const json& j) {
  if (!j.is_object()) bad("wrong type", "'engine' must be an object");
  static const std::set<std::string> known = {"name",      "version",  "model_runner",       "fp64_gumbel", "gumbel_noise",
                                              "fp_fusion", "sm_count", "max_threads_per_sm", "logits_dtype",
                                              "min_tokens_late"};
  for (const auto& item : j.items()) {
    if (known.count(item.key()) == 0) bad("invalid engine", fmt::format("unknown key 'engine.{}'", item.key()));
  }
  EngineIdentity e;
  e.name = as_string(field(j, "name"), "engine.name");
  e.version = as_string(field(j, "version"), "engine.version");
  if (j.contains("model_runner")) e.model_runner = as_string(j["model_runner"], "engine.model_runner");
  if (j.contains("fp64_gumbel")) {
    if (!j["fp64_gumbel"].is_boolean()) bad("wrong type", "'engine.fp64_gumbel' must be true or false");
    e.fp64_gumbel = j["fp64_gumbel"].get<bool>();
  }
  if (j.contains("gumbel_noise")) e.gumbel_noise = as_string(j["gumbel_noise"], "engine.gumbel_noise");
  if (j.contains("logits_dtype")) e.logits_dtype = as_string(j["logits_dtype"], "engine.logits_dtype");
  if (j.contains("fp_fusion")) {
    if (!j["fp_fusion"].is_boolean()) bad("wrong type", "'engine.fp_fusion' must be true or false");
    e.fp_fusion = j["fp_fusion"].get<bool>();
  }
  if (j.contains("min_tokens_late")) {
    if (!j["min_tokens_late"].is_boolean()) bad("wrong type", "'engine.min_tokens_late' must be true or false");
    e.min_tokens_late = j["min_tokens_late"].get<bool>();
  }
  if (j.contains("sm_count")) e.sm_count = as_i64(j["sm_count"], "engine.sm_count");
  if (j.contains("max_threads_per_sm")) {
    e.max_threads_per_sm = as_i64(j["max_threads_per_sm"], "engine.max_threads_per_sm");
  }
  return e;
}

// The engine is recorded (name, version, runner); an explicit sampler.profile wins over the profile
// the engine maps to, which wins over --profile. With an explicit profile the engine need not map.
void apply_engine(const json& line, LogRecord* r) {
  auto it = line.find("engine");
  if (it == line.end() || it->is_null()) return;
  const EngineIdentity engine = engine_of(*it);
  r->engine = {engine.name, engine.version, engine.model_runner};
  auto sampler = line.find("sampler");
  if (sampler != line.end() && sampler->is_object() && sampler->contains("profile")) return;
  try {
    const LogitsProcessors& p = r->sampler.processors;
    r->sampler.profile = engine_profile(engine, p.min_tokens > 0 && !p.stop_token_ids.empty());
  } catch (const EngineError& e) {
    bad("invalid engine", e.what());
  }
}

// Every top-level key of a line (docs/archive-format.md §5); `shard` and `row` are what export adds.
void check_line_keys(const json& line) {
  static const std::set<std::string> known = {
      "prompt_token_ids", "output_token_ids", "outputs",    "seed",         "sampler",   "engine",
      "model",            "model_fingerprint", "vocab_size", "tokenizer",    "server",    "message_id",
      "timestamp_us",     "timestamp",        "shard",      "row"};
  for (const auto& item : line.items()) {
    if (known.count(item.key()) == 0) bad("unknown field", fmt::format("unknown key '{}'", item.key()));
  }
}

}  // namespace

bool parse_rfc3339_us(const std::string& text, std::int64_t* out) {
  int year, month, day, hour, minute, second, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &consumed) != 6 || consumed != 19) {
    return false;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    int digits = 0;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos, ++digits) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 6; ++digits) micros *= 10;
  }
  std::int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset_s = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  *out = (static_cast<std::int64_t>(timegm(&tm)) - offset_s) * 1000000 + micros;
  return true;
}

std::vector<LogRecord> import_parse_line(const std::string& line, const ImportDefaults& d, std::uint64_t next_id) {
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    bad("malformed JSON", e.what());
  }
  if (!j.is_object()) bad("malformed JSON", "a line must hold one JSON object");
  check_line_keys(j);
  LogRecord base;
  base.prompt = token_ids(field(j, "prompt_token_ids"), "prompt_token_ids");
  base.timestamp_us = timestamp_of(j, d.timestamp_us);
  base.sampler = sampler_of(j, d.sampler);
  apply_engine(j, &base);
  base.model = {j.contains("model") ? as_string(j["model"], "model") : d.model,
                j.contains("model_fingerprint") ? as_string(j["model_fingerprint"], "model_fingerprint")
                                                : d.model_fingerprint,
                j.contains("vocab_size") ? static_cast<std::uint32_t>(as_u64(j["vocab_size"], "vocab_size"))
                                         : d.vocab_size,
                j.contains("tokenizer") ? as_string(j["tokenizer"], "tokenizer") : d.tokenizer};
  base.server = j.contains("server") ? as_string(j["server"], "server") : d.server;
  const std::uint64_t first_id = j.contains("message_id") ? as_u64(j["message_id"], "message_id") : next_id;
  std::vector<std::vector<std::int32_t>> outputs;
  std::uint64_t seed = 0;
  if (j.contains("outputs")) {  // token-difr layout: one message per output, child seeds seed + j
    const json& outs = j["outputs"];
    if (!outs.is_array() || outs.empty()) bad("wrong type", "'outputs' must be a non-empty array");
    for (std::size_t k = 0; k < outs.size(); ++k) {
      if (!outs[k].is_object()) bad("wrong type", fmt::format("'outputs'[{}] must be an object", k));
      outputs.push_back(token_ids(field(outs[k], "token_ids"), "outputs[].token_ids"));
    }
    if (j.contains("seed")) {
      seed = as_seed(j["seed"], "seed", base.sampler.profile);
    } else if (d.seed) {
      seed = *d.seed;
    } else {
      bad("missing field", "'seed' (not in the line and no --seed given)");
    }
  } else {
    outputs.push_back(token_ids(field(j, "output_token_ids"), "output_token_ids"));
    seed = as_seed(field(j, "seed"), "seed", base.sampler.profile);
  }
  std::vector<LogRecord> records;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    LogRecord r = base;
    r.output = std::move(outputs[k]);
    r.seed = seed + k;
    r.message_id = first_id + k;
    if (std::string problem = record_problem(r); !problem.empty()) bad("invalid record", problem);
    records.push_back(std::move(r));
  }
  return records;
}

ImportStats archive_import_jsonl(std::istream& in, const std::string& input_name, ArchiveWriter& writer,
                                 const ImportDefaults& defaults) {
  ImportStats stats;
  std::string line;
  for (std::uint64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++stats.n_lines;
    std::string reason, what;
    try {
      std::vector<LogRecord> records = import_parse_line(line, defaults, writer.next_message_id());
      if (records.front().message_id < writer.next_message_id()) {
        bad("invalid record", fmt::format("message id {} is not greater than the previous id {}",
                                          records.front().message_id, writer.next_message_id() - 1));
      }
      for (const LogRecord& r : records) writer.append(r);
      stats.n_messages += records.size();
      continue;
    } catch (const ImportLineError& e) {
      reason = e.reason();
      what = e.what();
    } catch (const RecordError& e) {
      reason = "invalid record";
      what = e.what();
    }
    ++stats.n_bad_lines;
    ++stats.bad_by_reason[reason];
    if (stats.problems.size() < ImportStats::kMaxListed) {
      stats.problems.push_back(fmt::format("{}:{}: {}", input_name, line_no, what));
    }
  }
  FSSL_CHECK(!in.bad(), ArchiveError, "{}: read error after {} lines", input_name, stats.n_lines);
  return stats;
}

}  // namespace fssl
