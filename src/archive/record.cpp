// Record digest (format section 3.1) and record validity rules shared by writer, reader and
// validation, so all three agree on what a good record is.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "fssl/archive.h"
#include "archive/format.h"

namespace fssl {
namespace {

// Little-endian serialisation into the hashed message. x86-64 and aarch64 are little-endian;
// the static_assert keeps a big-endian port from silently computing different digests.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "archive digests assume a little-endian host");

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

void put_ids(std::string& out, const std::vector<std::int32_t>& ids) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(ids.size()));
  out.append(reinterpret_cast<const char*>(ids.data()), 4 * ids.size());
}

// The v2 part of a record (section 3.1): engine, processor scalars, then each list with its count.
void put_v2(std::string& m, const LogRecord& r) {
  const LogitsProcessors& p = r.sampler.processors;
  put_string(m, r.engine.name);
  put_string(m, r.engine.version);
  put_string(m, r.engine.model_runner);
  put<float>(m, p.repetition_penalty);
  put<float>(m, p.presence_penalty);
  put<float>(m, p.frequency_penalty);
  put<std::int32_t>(m, p.min_tokens);
  put<std::int32_t>(m, p.repeat_last_n);
  put_ids(m, p.stop_token_ids);
  put_ids(m, p.allowed_token_ids);
  put<std::uint32_t>(m, static_cast<std::uint32_t>(p.logit_bias.size()));
  for (const auto& [id, bias] : p.logit_bias) {
    put<std::int32_t>(m, id);
    put<float>(m, bias);
  }
  put<std::uint32_t>(m, static_cast<std::uint32_t>(p.bad_words.size()));
  for (const auto& word : p.bad_words) put_ids(m, word);
}

std::string processors_problem(const LogitsProcessors& p, std::uint32_t vocab_size) {
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0) {
    return fmt::format("repetition_penalty {} is not > 0", p.repetition_penalty);
  }
  if (!std::isfinite(p.presence_penalty)) return fmt::format("presence_penalty {} is not finite", p.presence_penalty);
  if (!std::isfinite(p.frequency_penalty)) return fmt::format("frequency_penalty {} is not finite", p.frequency_penalty);
  if (p.min_tokens < 0) return fmt::format("min_tokens {} is negative", p.min_tokens);
  if (p.repeat_last_n < -1) return fmt::format("repeat_last_n {} is below -1", p.repeat_last_n);
  auto ids_problem = [&](const std::vector<std::int32_t>& ids, const char* what) -> std::string {
    for (std::int32_t id : ids) {
      if (id < 0 || static_cast<std::uint32_t>(id) >= vocab_size) {
        return fmt::format("{} holds id {} outside [0, vocab size {})", what, id, vocab_size);
      }
    }
    return "";
  };
  if (std::string e = ids_problem(p.stop_token_ids, "stop_token_ids"); !e.empty()) return e;
  if (std::string e = ids_problem(p.allowed_token_ids, "allowed_token_ids"); !e.empty()) return e;
  std::vector<std::int32_t> biased;
  for (const auto& [id, bias] : p.logit_bias) {
    if (!std::isfinite(bias)) return fmt::format("logit_bias of token {} is {}, not finite", id, bias);
    biased.push_back(id);
  }
  if (std::string e = ids_problem(biased, "logit_bias"); !e.empty()) return e;
  std::sort(biased.begin(), biased.end());
  if (std::adjacent_find(biased.begin(), biased.end()) != biased.end()) return "logit_bias names a token twice";
  for (std::size_t w = 0; w < p.bad_words.size(); ++w) {
    if (p.bad_words[w].empty()) return fmt::format("bad_words sequence {} is empty", w);
    if (std::string e = ids_problem(p.bad_words[w], "bad_words"); !e.empty()) return e;
  }
  return "";
}

}  // namespace

bool LogitsProcessors::active() const {
  return repetition_penalty != 1.0f || presence_penalty != 0.0f || frequency_penalty != 0.0f ||
         (min_tokens > 0 && !stop_token_ids.empty()) || !allowed_token_ids.empty() || !logit_bias.empty() ||
         !bad_words.empty();
}

bool LogitsProcessors::operator==(const LogitsProcessors& o) const {
  return repetition_penalty == o.repetition_penalty && presence_penalty == o.presence_penalty &&
         frequency_penalty == o.frequency_penalty && min_tokens == o.min_tokens && repeat_last_n == o.repeat_last_n &&
         stop_token_ids == o.stop_token_ids && allowed_token_ids == o.allowed_token_ids &&
         logit_bias == o.logit_bias && bad_words == o.bad_words;
}

Digest32 record_digest(const Digest32& prev, const LogRecord& r) {
  std::string m;
  m.reserve(160 + 4 * (r.prompt.size() + r.output.size()));
  // A record with neither processors nor engine keeps the v1 digest: it means what a v1 record means.
  const bool v2 = r.sampler.processors != LogitsProcessors{} || !r.engine.empty();
  m.append(v2 ? archive_format::kRecordTagV2 : archive_format::kRecordTag, 8);
  m.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  put<std::uint64_t>(m, r.message_id);
  put<std::int64_t>(m, r.timestamp_us);
  put<std::uint64_t>(m, r.seed);
  put<float>(m, r.sampler.temperature);
  put<std::int32_t>(m, r.sampler.top_k);
  put<float>(m, r.sampler.top_p);
  put<float>(m, r.sampler.min_p);
  put_string(m, r.sampler.profile);
  put_string(m, r.model.name);
  put_string(m, r.model.fingerprint);
  put<std::uint32_t>(m, r.model.vocab_size);
  put_string(m, r.model.tokenizer);
  put_string(m, r.server);
  if (v2) put_v2(m, r);
  put<std::uint32_t>(m, static_cast<std::uint32_t>(r.prompt.size()));
  put<std::uint32_t>(m, static_cast<std::uint32_t>(r.output.size()));
  m.append(reinterpret_cast<const char*>(r.prompt.data()), 4 * r.prompt.size());
  m.append(reinterpret_cast<const char*>(r.output.data()), 4 * r.output.size());
  return sha256(m);
}

std::string record_problem(const LogRecord& r) {
  if (r.prompt.empty()) return "empty prompt";
  if (r.output.empty()) return "empty output";
  if (r.model.vocab_size == 0) return fmt::format("model '{}' has vocab size 0", r.model.name);
  if (Digest32 unused{}; !r.model.fingerprint.empty() && !hex_decode_digest(r.model.fingerprint, &unused)) {
    return fmt::format("model '{}' fingerprint '{}' is neither empty nor 64 hex digits", r.model.name,
                       r.model.fingerprint);
  }
  auto check_tokens = [&](const std::vector<std::int32_t>& ids, const char* what) -> std::string {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || static_cast<std::uint32_t>(ids[i]) >= r.model.vocab_size) {
        return fmt::format("{} token {} has id {} outside [0, vocab size {})", what, i, ids[i], r.model.vocab_size);
      }
    }
    return "";
  };
  if (std::string p = check_tokens(r.prompt, "prompt"); !p.empty()) return p;
  if (std::string p = check_tokens(r.output, "output"); !p.empty()) return p;
  const SamplerSettings& s = r.sampler;
  if (!std::isfinite(s.temperature) || s.temperature < 0) return fmt::format("temperature {} is not >= 0", s.temperature);
  if (s.top_k < 0) return fmt::format("top_k {} is negative", s.top_k);
  if (!(s.top_p > 0 && s.top_p <= 1)) return fmt::format("top_p {} outside (0, 1]", s.top_p);
  if (!(s.min_p >= 0 && s.min_p <= 1)) return fmt::format("min_p {} outside [0, 1]", s.min_p);
  if (s.profile.empty()) return "empty sampler profile";
  return processors_problem(s.processors, r.model.vocab_size);
}

}  // namespace fssl
