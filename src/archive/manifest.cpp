// manifest.json: JSON encoding, atomic replacement and the manifest HMAC (format sections 3.2, 4).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fssl/archive.h"
#include "fssl/file.h"
#include "archive/format.h"

namespace fssl {
namespace {

using nlohmann::json;

json counts_to_json(const std::map<std::string, std::uint64_t>& counts) {
  json j = json::object();
  for (const auto& [name, n] : counts) j[name] = n;
  return j;
}

Digest32 digest_field(const json& j, const char* key) {
  Digest32 d{};
  if (!hex_decode_digest(j.at(key).get<std::string>(), &d)) {
    throw json::other_error::create(501, fmt::format("'{}' is not 64 hex digits", key), &j);
  }
  return d;
}

ShardEntry shard_from_json(const json& j) {
  ShardEntry s;
  s.file = j.at("file").get<std::string>();
  s.index = j.at("index").get<std::int64_t>();
  s.bytes = j.at("bytes").get<std::uint64_t>();
  s.sha256 = digest_field(j, "sha256");
  s.n_messages = j.at("n_messages").get<std::uint64_t>();
  s.n_prompt_tokens = j.at("n_prompt_tokens").get<std::uint64_t>();
  s.n_output_tokens = j.at("n_output_tokens").get<std::uint64_t>();
  s.first_message_id = j.at("first_message_id").get<std::uint64_t>();
  s.last_message_id = j.at("last_message_id").get<std::uint64_t>();
  s.time_min_us = j.at("time_min_us").get<std::int64_t>();
  s.time_max_us = j.at("time_max_us").get<std::int64_t>();
  s.models = j.at("models").get<std::map<std::string, std::uint64_t>>();
  s.servers = j.at("servers").get<std::map<std::string, std::uint64_t>>();
  s.sampler_profiles = j.at("sampler_profiles").get<std::map<std::string, std::uint64_t>>();
  s.chain_genesis = digest_field(j, "chain_genesis");
  s.chain_head = digest_field(j, "chain_head");
  // A file name with a path separator could point outside the archive directory.
  if (s.file.empty() || s.file.find('/') != std::string::npos || s.file[0] == '.') {
    throw json::other_error::create(501, fmt::format("file name '{}' is not a plain file name", s.file), &j);
  }
  return s;
}

}  // namespace

std::uint64_t Manifest::n_messages() const {
  std::uint64_t n = 0;
  for (const auto& s : shards) n += s.n_messages;
  return n;
}

std::uint64_t Manifest::n_tokens() const {
  std::uint64_t n = 0;
  for (const auto& s : shards) n += s.n_prompt_tokens + s.n_output_tokens;
  return n;
}

Digest32 Manifest::compute_hmac(const std::vector<std::uint8_t>& key) const {
  std::string m = archive_format::kManifestHmacTag;
  for (const auto& s : shards) {
    m += s.file;
    m.push_back('\0');
    std::uint64_t n = s.n_messages;  // little-endian host (see archive/record.cpp)
    m.append(reinterpret_cast<const char*>(&n), sizeof n);
    m.append(reinterpret_cast<const char*>(s.chain_genesis.data()), 32);
    m.append(reinterpret_cast<const char*>(s.chain_head.data()), 32);
  }
  return hmac_sha256(key, m);
}

std::string Manifest::to_json_text() const {
  json j;
  j["format"] = archive_format::kManifestFormat;
  j["format_version"] = archive_format::kManifestVersion;
  j["shards"] = json::array();
  for (const auto& s : shards) {
    j["shards"].push_back({{"file", s.file},
                           {"index", s.index},
                           {"bytes", s.bytes},
                           {"sha256", hex_encode(s.sha256)},
                           {"n_messages", s.n_messages},
                           {"n_prompt_tokens", s.n_prompt_tokens},
                           {"n_output_tokens", s.n_output_tokens},
                           {"first_message_id", s.first_message_id},
                           {"last_message_id", s.last_message_id},
                           {"time_min_us", s.time_min_us},
                           {"time_max_us", s.time_max_us},
                           {"models", counts_to_json(s.models)},
                           {"servers", counts_to_json(s.servers)},
                           {"sampler_profiles", counts_to_json(s.sampler_profiles)},
                           {"chain_genesis", hex_encode(s.chain_genesis)},
                           {"chain_head", hex_encode(s.chain_head)}});
  }
  if (hmac) j["hmac"] = hex_encode(*hmac);
  return j.dump(1, '\t') + "\n";
}

Manifest Manifest::read(const std::string& dir, bool allow_missing) {
  const std::string path = dir + "/" + archive_format::kManifestFile;
  std::ifstream in(path);
  if (!in.good()) {
    if (allow_missing && errno == ENOENT) return Manifest{};
    FSSL_THROW(ArchiveError, "{}: cannot open manifest: {} (is '{}' an fssl archive?)", path, std::strerror(errno), dir);
  }
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    FSSL_THROW(ArchiveError, "{}: malformed JSON: {}", path, e.what());
  }
  Manifest m;
  std::size_t k = 0;
  try {
    FSSL_CHECK(j.is_object() && j.value("format", "") == std::string(archive_format::kManifestFormat), ArchiveError,
               "{}: not an fssl archive manifest (format field missing or wrong)", path);
    const auto version = j.at("format_version").get<std::int64_t>();
    FSSL_CHECK(version == archive_format::kManifestVersion, ArchiveError,
               "{}: manifest format_version {} is not supported (this fssl reads version {})", path, version,
               archive_format::kManifestVersion);
    for (; k < j.at("shards").size(); ++k) m.shards.push_back(shard_from_json(j["shards"][k]));
    if (j.contains("hmac")) {
      Digest32 d{};
      FSSL_CHECK(hex_decode_digest(j["hmac"].get<std::string>(), &d), ArchiveError, "{}: 'hmac' is not 64 hex digits",
                 path);
      m.hmac = d;
    }
  } catch (const json::exception& e) {
    FSSL_THROW(ArchiveError, "{}: shard entry {}: {}", path, k, e.what());
  }
  return m;
}

void Manifest::write(const std::string& dir) const {
  const std::string path = dir + "/" + archive_format::kManifestFile;
  write_file_atomic(path, to_json_text());
}

}  // namespace fssl
