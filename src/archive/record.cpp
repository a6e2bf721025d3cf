// Record digest (format section 3.1) and record validity rules shared by writer, reader and
// validation, so all three agree on what a good record is.
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

}  // namespace

Digest32 record_digest(const Digest32& prev, const LogRecord& r) {
  std::string m;
  m.reserve(160 + 4 * (r.prompt.size() + r.output.size()));
  m.append(archive_format::kRecordTag, 8);
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
  return "";
}

}  // namespace fssl
