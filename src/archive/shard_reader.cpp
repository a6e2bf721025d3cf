// ShardReader: opens one shard, checks its structure, loads tables and message columns, and
// reads records (single or batched through one union-of-hyperslabs read).
#include <algorithm>
#include <cstring>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "fssl/archive.h"
#include "archive/format.h"
#include "fssl/h5.h"

namespace fssl {
namespace af = archive_format;

struct ShardReader::Impl {
  std::string path;
  h5::Handle file, tokens;
  std::uint64_t n_messages = 0, n_tokens = 0;
  std::int64_t shard_index = 0;
  Digest32 genesis{}, head{};
  std::optional<Digest32> hmac;
  std::vector<ModelInfo> models;
  std::vector<std::string> profiles, servers;
  MessageColumns cols;
};

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
  FSSL_CHECK(version == af::kVersion, ArchiveError,
             "{}: format_version {} is not supported (this fssl reads version {}); convert or upgrade fssl", path,
             version, af::kVersion);
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
  return "";
}

LogRecord ShardReader::read(std::uint64_t row) const { return std::move(read_batch({row}).front()); }

std::vector<LogRecord> ShardReader::read_batch(const std::vector<std::uint64_t>& rows) const {
  // Structure first, before any token is read, as the batched read checks it.
  for (std::uint64_t row : rows) {
    if (row >= impl_->n_messages) {
      FSSL_THROW(RecordError, "{}: row {} is past the last record ({})", impl_->path, row, impl_->n_messages);
    }
    if (std::string problem = row_structure_problem(row); !problem.empty()) {
      FSSL_THROW(RecordError, "{}: {}", row_context(row), problem);
    }
  }
  std::vector<RowRead> read = read_rows(rows);
  std::vector<LogRecord> out;
  out.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (auto* p = std::get_if<RecordProblem>(&read[i])) {
      FSSL_THROW(RecordError, "{}: {}", row_context(rows[i]), p->reason);
    }
    out.push_back(std::move(std::get<LogRecord>(read[i])));
  }
  return out;
}

std::vector<RowRead> ShardReader::read_rows(const std::vector<std::uint64_t>& rows) const {
  const MessageColumns& c = impl_->cols;
  std::vector<RowRead> out(rows.size());
  // Token ranges of the usable rows, merged so that one HDF5 read fetches all of them.
  struct Span { std::int64_t start, end; };
  std::vector<Span> spans;
  std::vector<bool> usable(rows.size(), false);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::uint64_t row = rows[i];
    std::string problem = row >= impl_->n_messages
                              ? fmt::format("row {} is past the last record ({})", row, impl_->n_messages)
                              : row_structure_problem(row);
    if (!problem.empty()) {
      out[i] = RecordProblem{std::move(problem)};
      continue;
    }
    usable[i] = true;
    spans.push_back({c.prompt_offset[row], c.prompt_offset[row] + c.prompt_length[row]});
    spans.push_back({c.output_offset[row], c.output_offset[row] + c.output_length[row]});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start < b.start; });
  std::vector<Span> merged;
  for (const Span& s : spans) {
    if (!merged.empty() && s.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
    } else {
      merged.push_back(s);
    }
  }
  std::vector<std::pair<hsize_t, hsize_t>> ranges;
  std::vector<std::int64_t> buffer_pos;  // where merged[k] starts in `buffer`
  std::int64_t total = 0;
  for (const Span& m : merged) {
    ranges.emplace_back(static_cast<hsize_t>(m.start), static_cast<hsize_t>(m.end - m.start));
    buffer_pos.push_back(total);
    total += m.end - m.start;
  }
  std::vector<std::int32_t> buffer(static_cast<std::size_t>(total));
  h5::dataset_read_ranges<std::int32_t>(impl_->tokens.id(), ranges, buffer.data());
  auto tokens_at = [&](std::int64_t offset, std::int32_t length) {
    auto it = std::upper_bound(merged.begin(), merged.end(), offset,
                               [](std::int64_t v, const Span& m) { return v < m.start; });
    const std::size_t k = static_cast<std::size_t>(it - merged.begin()) - 1;
    const std::int32_t* first = buffer.data() + buffer_pos[k] + (offset - merged[k].start);
    return std::vector<std::int32_t>(first, first + length);
  };
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!usable[i]) continue;
    const std::uint64_t row = rows[i];
    LogRecord r;
    r.message_id = c.message_id[row];
    r.timestamp_us = c.timestamp_us[row];
    r.seed = c.seed[row];
    r.sampler = {impl_->profiles[c.sampler_profile[row]], c.temperature[row], c.top_k[row], c.top_p[row], c.min_p[row]};
    r.model = impl_->models[c.model[row]];
    r.server = impl_->servers[c.server[row]];
    r.prompt = tokens_at(c.prompt_offset[row], c.prompt_length[row]);
    r.output = tokens_at(c.output_offset[row], c.output_length[row]);
    if (std::string problem = record_problem(r); !problem.empty()) {
      out[i] = RecordProblem{std::move(problem)};
    } else {
      out[i] = std::move(r);
    }
  }
  return out;
}

}  // namespace fssl
