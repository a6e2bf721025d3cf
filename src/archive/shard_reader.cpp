// ShardReader: opens one shard (format v1 or v2), checks its structure, loads tables and message
// columns, and says whether a row's offsets and table indices are usable (rows: shard_rows.cpp).
#include <algorithm>
#include <cstring>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "fssl/archive.h"
#include "archive/format.h"
#include "archive/shard_impl.h"
#include "fssl/h5.h"

namespace fssl {
namespace af = archive_format;

namespace {

Digest32 digest_attribute(hid_t file, const char* name, const std::string& path) {
  std::vector<std::uint8_t> bytes = h5::attribute_read_bytes(file, name);
  FSSL_CHECK(bytes.size() == 32, ArchiveError, "{}: attribute '{}' has {} bytes, expected 32", path, name, bytes.size());
  Digest32 d{};
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

nlohmann::json json_attribute(hid_t file, const char* name, const std::string& path) {
  try {
    nlohmann::json j = nlohmann::json::parse(h5::attribute_read_string(file, name));
    FSSL_CHECK(j.is_array(), ArchiveError, "{}: attribute '{}' must be a JSON array", path, name);
    return j;
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(ArchiveError, "{}: attribute '{}' is not valid JSON: {}", path, name, e.what());
  }
}

void load_tables(ShardReader::Impl& s) {
  hid_t f = s.file.id();
  try {
    for (const auto& m : json_attribute(f, af::kAttrModels, s.path)) {
      ModelInfo info;
      info.name = m.at("name").get<std::string>();
      info.fingerprint = m.at("fingerprint").get<std::string>();
      info.vocab_size = m.at("vocab_size").get<std::uint32_t>();
      info.tokenizer = m.at("tokenizer").get<std::string>();
      s.models.push_back(std::move(info));
    }
    for (const auto& p : json_attribute(f, af::kAttrSamplerProfiles, s.path)) s.profiles.push_back(p.get<std::string>());
    for (const auto& v : json_attribute(f, af::kAttrServers, s.path)) s.servers.push_back(v.get<std::string>());
    if (s.version >= 2) {
      for (const auto& e : json_attribute(f, af::kAttrEngines, s.path)) {
        s.engines.push_back({e.at("name").get<std::string>(), e.at("version").get<std::string>(),
                             e.at("model_runner").get<std::string>()});
      }
    }
  } catch (const nlohmann::json::exception& e) {
    FSSL_THROW(ArchiveError, "{}: malformed table attribute: {}", s.path, e.what());
  }
}

template <typename T>
std::vector<T> column(ShardReader::Impl& s, const char* name) {
  h5::Handle ds = h5::dataset_open(s.file.id(), name);
  std::vector<hsize_t> shape = h5::dataset_shape(ds.id());
  FSSL_CHECK(shape.size() == 1 && shape[0] == s.n_messages, ArchiveError,
             "{}: dataset {} has shape [{}], expected [{}] like {}", s.path, name, fmt::join(shape, ", "),
             s.n_messages, af::kMessageId);
  return h5::dataset_read_all<T>(ds.id());
}

// A flat v2 dataset: opened, 1-D, its length.
h5::Handle flat(ShardReader::Impl& s, const char* name, std::uint64_t* n) {
  h5::Handle ds = h5::dataset_open(s.file.id(), name);
  std::vector<hsize_t> shape = h5::dataset_shape(ds.id());
  FSSL_CHECK(shape.size() == 1, ArchiveError, "{}: {} must be 1-D", s.path, name);
  *n = shape[0];
  return ds;
}

void load_v2_columns(ShardReader::Impl& s) {
  MessageColumns& c = s.cols;
  c.repetition_penalty = column<float>(s, af::kRepetitionPenalty);
  c.presence_penalty = column<float>(s, af::kPresencePenalty);
  c.frequency_penalty = column<float>(s, af::kFrequencyPenalty);
  c.min_tokens = column<std::int32_t>(s, af::kMinTokens);
  c.repeat_last_n = column<std::int32_t>(s, af::kRepeatLastN);
  c.engine = column<std::uint16_t>(s, af::kEngine);
  c.stop_offset = column<std::int64_t>(s, af::kStopOffset);
  c.stop_length = column<std::int32_t>(s, af::kStopLength);
  c.allowed_offset = column<std::int64_t>(s, af::kAllowedOffset);
  c.allowed_length = column<std::int32_t>(s, af::kAllowedLength);
  c.logit_bias_offset = column<std::int64_t>(s, af::kLogitBiasOffset);
  c.logit_bias_length = column<std::int32_t>(s, af::kLogitBiasLength);
  c.bad_words_offset = column<std::int64_t>(s, af::kBadWordsOffset);
  c.bad_words_length = column<std::int32_t>(s, af::kBadWordsLength);
  s.stop_ids = flat(s, af::kStopTokenIds, &s.n_stop_ids);
  s.allowed_ids = flat(s, af::kAllowedTokenIds, &s.n_allowed_ids);
  s.bias_ids = flat(s, af::kLogitBiasTokenId, &s.n_bias);
  std::uint64_t n_values = 0;
  s.bias_values = flat(s, af::kLogitBiasValue, &n_values);
  FSSL_CHECK(n_values == s.n_bias, ArchiveError, "{}: {} has {} values for {} token ids in {}", s.path,
             af::kLogitBiasValue, n_values, s.n_bias, af::kLogitBiasTokenId);
  s.bad_words = flat(s, af::kBadWords, &s.n_bad_words);
}

void load_columns(ShardReader::Impl& s) {
  h5::Handle ids = h5::dataset_open(s.file.id(), af::kMessageId);
  std::vector<hsize_t> shape = h5::dataset_shape(ids.id());
  FSSL_CHECK(shape.size() == 1, ArchiveError, "{}: {} must be 1-D", s.path, af::kMessageId);
  s.n_messages = shape[0];
  MessageColumns& c = s.cols;
  c.message_id = column<std::uint64_t>(s, af::kMessageId);
  c.timestamp_us = column<std::int64_t>(s, af::kTimestampUs);
  c.prompt_offset = column<std::int64_t>(s, af::kPromptOffset);
  c.prompt_length = column<std::int32_t>(s, af::kPromptLength);
  c.output_offset = column<std::int64_t>(s, af::kOutputOffset);
  c.output_length = column<std::int32_t>(s, af::kOutputLength);
  c.seed = column<std::uint64_t>(s, af::kSeed);
  c.sampler_profile = column<std::uint16_t>(s, af::kSamplerProfile);
  c.temperature = column<float>(s, af::kTemperature);
  c.top_k = column<std::int32_t>(s, af::kTopK);
  c.top_p = column<float>(s, af::kTopP);
  c.min_p = column<float>(s, af::kMinP);
  c.model = column<std::uint16_t>(s, af::kModel);
  c.server = column<std::uint32_t>(s, af::kServer);
  h5::Handle digest = h5::dataset_open(s.file.id(), af::kDigest);
  shape = h5::dataset_shape(digest.id());
  FSSL_CHECK(shape.size() == 2 && shape[0] == s.n_messages && shape[1] == 32, ArchiveError,
             "{}: {} has shape [{}], expected [{}, 32]", s.path, af::kDigest, fmt::join(shape, ", "), s.n_messages);
  c.digest = h5::dataset_read_all<std::uint8_t>(digest.id());
  if (s.version >= 2) load_v2_columns(s);
}

}  // namespace

ShardReader::ShardReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShardReader::ShardReader(ShardReader&&) noexcept = default;
ShardReader& ShardReader::operator=(ShardReader&&) noexcept = default;
ShardReader::~ShardReader() = default;

ShardReader ShardReader::open(const std::string& path) {
  h5::silence_auto_printing();
  auto s = std::make_unique<Impl>();
  s->path = path;
  s->file = h5::file_open_read(path);
  hid_t f = s->file.id();
  FSSL_CHECK(h5::attribute_exists(f, af::kAttrFormat) && h5::attribute_read_string(f, af::kAttrFormat) == af::kFormat,
             ArchiveError, "{}: not an fssl archive shard (root attribute 'format' missing or not '{}')", path,
             af::kFormat);
  const std::int64_t version = h5::attribute_read_int64(f, af::kAttrVersion);
  FSSL_CHECK(version >= af::kOldestVersion && version <= af::kVersion, ArchiveError,
             "{}: format_version {} is not supported (this fssl reads versions {} to {}); convert or upgrade fssl",
             path, version, af::kOldestVersion, af::kVersion);
  s->version = version;
  s->shard_index = h5::attribute_read_int64(f, af::kAttrShardIndex);
  s->genesis = digest_attribute(f, af::kAttrChainGenesis, path);
  s->head = digest_attribute(f, af::kAttrChainHead, path);
  if (h5::attribute_exists(f, af::kAttrChainHmac)) s->hmac = digest_attribute(f, af::kAttrChainHmac, path);
  load_tables(*s);
  s->tokens = h5::dataset_open(f, af::kTokens);
  std::vector<hsize_t> shape = h5::dataset_shape(s->tokens.id());
  FSSL_CHECK(shape.size() == 1, ArchiveError, "{}: {} must be 1-D", path, af::kTokens);
  s->n_tokens = shape[0];
  load_columns(*s);
  return ShardReader(std::move(s));
}

namespace {

std::string v2_structure_problem(const ShardReader::Impl& s, std::uint64_t row) {
  const MessageColumns& c = s.cols;
  if (c.engine[row] >= s.engines.size()) {
    return fmt::format("engine index {} outside the engine table ({} entries)", c.engine[row], s.engines.size());
  }
  auto range = [](const char* what, std::int64_t offset, std::int32_t length, std::uint64_t size) -> std::string {
    if (offset < 0 || length < 0 || static_cast<std::uint64_t>(offset) > size - static_cast<std::uint64_t>(length) ||
        static_cast<std::uint64_t>(length) > size) {
      return fmt::format("{} range [{}, +{}) outside its dataset ({} values)", what, offset, length, size);
    }
    return "";
  };
  if (std::string p = range("stop_token_ids", c.stop_offset[row], c.stop_length[row], s.n_stop_ids); !p.empty()) return p;
  if (std::string p = range("allowed_token_ids", c.allowed_offset[row], c.allowed_length[row], s.n_allowed_ids);
      !p.empty()) {
    return p;
  }
  if (std::string p = range("logit_bias", c.logit_bias_offset[row], c.logit_bias_length[row], s.n_bias); !p.empty()) {
    return p;
  }
  return range("bad_words", c.bad_words_offset[row], c.bad_words_length[row], s.n_bad_words);
}

}  // namespace

std::int64_t ShardReader::format_version() const { return impl_->version; }
const std::vector<EngineTag>& ShardReader::engines() const { return impl_->engines; }
const std::string& ShardReader::path() const { return impl_->path; }
std::uint64_t ShardReader::n_messages() const { return impl_->n_messages; }
std::uint64_t ShardReader::n_tokens() const { return impl_->n_tokens; }
std::int64_t ShardReader::shard_index() const { return impl_->shard_index; }
const Digest32& ShardReader::chain_genesis() const { return impl_->genesis; }
const Digest32& ShardReader::chain_head() const { return impl_->head; }
const std::optional<Digest32>& ShardReader::chain_hmac() const { return impl_->hmac; }
const std::vector<ModelInfo>& ShardReader::models() const { return impl_->models; }
const std::vector<std::string>& ShardReader::sampler_profiles() const { return impl_->profiles; }
const std::vector<std::string>& ShardReader::servers() const { return impl_->servers; }
const MessageColumns& ShardReader::columns() const { return impl_->cols; }

Digest32 ShardReader::stored_digest(std::uint64_t row) const {
  Digest32 d{};
  std::copy_n(impl_->cols.digest.begin() + static_cast<std::ptrdiff_t>(32 * row), 32, d.begin());
  return d;
}

std::string ShardReader::row_context(std::uint64_t row) const {
  const char* slash = std::strrchr(impl_->path.c_str(), '/');
  return fmt::format("{}: record {} (message id {})", slash ? slash + 1 : impl_->path.c_str(), row,
                     impl_->cols.message_id[row]);
}

std::string ShardReader::row_structure_problem(std::uint64_t row) const {
  const MessageColumns& c = impl_->cols;
  const auto n_tokens = static_cast<std::int64_t>(impl_->n_tokens);
  auto range = [&](const char* what, std::int64_t offset, std::int32_t length) -> std::string {
    if (offset < 0) return fmt::format("{}_offset {} is negative", what, offset);
    if (length < 1) return fmt::format("{}_length {} is not >= 1", what, length);
    if (offset > n_tokens - length) {
      return fmt::format("{} tokens [{}, {}) run past the end of {} (length {})", what, offset,
                         offset + length, af::kTokens, n_tokens);
    }
    return "";
  };
  if (std::string p = range("prompt", c.prompt_offset[row], c.prompt_length[row]); !p.empty()) return p;
  if (std::string p = range("output", c.output_offset[row], c.output_length[row]); !p.empty()) return p;
  if (c.model[row] >= impl_->models.size()) {
    return fmt::format("model index {} outside the model table ({} entries)", c.model[row], impl_->models.size());
  }
  if (c.sampler_profile[row] >= impl_->profiles.size()) {
    return fmt::format("sampler_profile index {} outside the profile table ({} entries)", c.sampler_profile[row],
                       impl_->profiles.size());
  }
  if (c.server[row] >= impl_->servers.size()) {
    return fmt::format("server index {} outside the server table ({} entries)", c.server[row], impl_->servers.size());
  }
  return impl_->version >= 2 ? v2_structure_problem(*impl_, row) : "";
}

}  // namespace fssl
