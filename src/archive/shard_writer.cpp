// ShardWriter (archive/shard_writer.h).
#include "archive/shard_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "archive/format.h"

namespace fssl {
namespace af = archive_format;

namespace {

template <typename T>
void append_column(std::map<std::string, h5::Handle>& datasets, const char* name, std::vector<T>& values,
                   hsize_t n_rows) {
  h5::dataset_append<T>(datasets.at(name).id(), values.data(), n_rows);
  values.clear();
}

template <typename T>
void append_all(std::map<std::string, h5::Handle>& datasets, const char* name, std::vector<T>& values) {
  if (!values.empty()) h5::dataset_append<T>(datasets.at(name).id(), values.data(), values.size());
  values.clear();
}

}  // namespace

ShardWriter::ShardWriter(std::string path, std::int64_t index, const Digest32& genesis, const WriterOptions& options)
    : path_(std::move(path)), index_(index), genesis_(genesis), head_(genesis), flush_messages_(options.flush_messages) {
  h5::silence_auto_printing();
  file_ = h5::file_create(path_);
  hid_t f = file_.id();
  h5::attribute_write_string(f, af::kAttrFormat, af::kFormat);
  h5::attribute_write_int(f, af::kAttrVersion, af::kVersion, H5T_STD_I32LE);
  h5::attribute_write_int(f, af::kAttrShardIndex, index_, H5T_STD_I64LE);
  h5::attribute_write_bytes(f, af::kAttrChainGenesis, genesis_.data(), genesis_.size());
  h5::ChunkedLayout tokens_layout{options.tokens_chunk, af::kDeflateLevel, /*shuffle=*/true};
  h5::ChunkedLayout rows_layout{af::kMessagesChunk, af::kDeflateLevel, /*shuffle=*/false};
  datasets_[af::kTokens] = h5::dataset_create_extendible<std::int32_t>(f, af::kTokens, 0, tokens_layout);
  h5::group_create(f, af::kMessages);
  datasets_[af::kMessageId] = h5::dataset_create_extendible<std::uint64_t>(f, af::kMessageId, 0, rows_layout);
  datasets_[af::kTimestampUs] = h5::dataset_create_extendible<std::int64_t>(f, af::kTimestampUs, 0, rows_layout);
  datasets_[af::kPromptOffset] = h5::dataset_create_extendible<std::int64_t>(f, af::kPromptOffset, 0, rows_layout);
  datasets_[af::kPromptLength] = h5::dataset_create_extendible<std::int32_t>(f, af::kPromptLength, 0, rows_layout);
  datasets_[af::kOutputOffset] = h5::dataset_create_extendible<std::int64_t>(f, af::kOutputOffset, 0, rows_layout);
  datasets_[af::kOutputLength] = h5::dataset_create_extendible<std::int32_t>(f, af::kOutputLength, 0, rows_layout);
  datasets_[af::kSeed] = h5::dataset_create_extendible<std::uint64_t>(f, af::kSeed, 0, rows_layout);
  datasets_[af::kSamplerProfile] = h5::dataset_create_extendible<std::uint16_t>(f, af::kSamplerProfile, 0, rows_layout);
  datasets_[af::kTemperature] = h5::dataset_create_extendible<float>(f, af::kTemperature, 0, rows_layout);
  datasets_[af::kTopK] = h5::dataset_create_extendible<std::int32_t>(f, af::kTopK, 0, rows_layout);
  datasets_[af::kTopP] = h5::dataset_create_extendible<float>(f, af::kTopP, 0, rows_layout);
  datasets_[af::kMinP] = h5::dataset_create_extendible<float>(f, af::kMinP, 0, rows_layout);
  datasets_[af::kModel] = h5::dataset_create_extendible<std::uint16_t>(f, af::kModel, 0, rows_layout);
  datasets_[af::kServer] = h5::dataset_create_extendible<std::uint32_t>(f, af::kServer, 0, rows_layout);
  datasets_[af::kDigest] = h5::dataset_create_extendible<std::uint8_t>(f, af::kDigest, 32, rows_layout);
  for (const char* name : {af::kRepetitionPenalty, af::kPresencePenalty, af::kFrequencyPenalty}) {
    datasets_[name] = h5::dataset_create_extendible<float>(f, name, 0, rows_layout);
  }
  for (const char* name : {af::kMinTokens, af::kRepeatLastN, af::kStopLength, af::kAllowedLength,
                           af::kLogitBiasLength, af::kBadWordsLength}) {
    datasets_[name] = h5::dataset_create_extendible<std::int32_t>(f, name, 0, rows_layout);
  }
  for (const char* name : {af::kStopOffset, af::kAllowedOffset, af::kLogitBiasOffset, af::kBadWordsOffset}) {
    datasets_[name] = h5::dataset_create_extendible<std::int64_t>(f, name, 0, rows_layout);
  }
  datasets_[af::kEngine] = h5::dataset_create_extendible<std::uint16_t>(f, af::kEngine, 0, rows_layout);
  h5::group_create(f, af::kProcessors);
  for (const char* name : {af::kStopTokenIds, af::kAllowedTokenIds, af::kLogitBiasTokenId, af::kBadWords}) {
    datasets_[name] = h5::dataset_create_extendible<std::int32_t>(f, name, 0, rows_layout);
  }
  datasets_[af::kLogitBiasValue] = h5::dataset_create_extendible<float>(f, af::kLogitBiasValue, 0, rows_layout);
}

template <typename T>
std::uint32_t ShardWriter::table_index(std::map<T, std::uint32_t>& index, std::vector<T>& table, const T& value) {
  auto [it, inserted] = index.emplace(value, static_cast<std::uint32_t>(table.size()));
  if (inserted) table.push_back(value);
  return it->second;
}

std::string ShardWriter::table_conflict(const LogRecord& record) const {
  auto it = model_index_.find(record.model.name);
  if (it != model_index_.end() && !(models_[it->second] == record.model)) {
    return fmt::format("model '{}' logged with two identities in one shard (fingerprint {} vs {})", record.model.name,
                       models_[it->second].fingerprint, record.model.fingerprint);
  }
  if (it == model_index_.end() && models_.size() >= 65535) return "more than 65535 models in one shard";
  if (profile_index_.count(record.sampler.profile) == 0 && profiles_.size() >= 65535) {
    return "more than 65535 sampler profiles in one shard";
  }
  if (engine_index_.count(record.engine) == 0 && engines_.size() >= 65535) return "more than 65535 engines in one shard";
  return "";
}

void ShardWriter::append(const LogRecord& r, const Digest32& digest) {
  MessageColumns& b = buffer_;
  const auto model = table_index(model_index_, model_names_, r.model.name);
  if (model == models_.size()) models_.push_back(r.model);
  b.message_id.push_back(r.message_id);
  b.timestamp_us.push_back(r.timestamp_us);
  // Prompt then output, adjacent: one contiguous token range per message.
  b.prompt_offset.push_back(static_cast<std::int64_t>(n_tokens_));
  b.prompt_length.push_back(static_cast<std::int32_t>(r.prompt.size()));
  b.output_offset.push_back(static_cast<std::int64_t>(n_tokens_ + r.prompt.size()));
  b.output_length.push_back(static_cast<std::int32_t>(r.output.size()));
  token_buffer_.insert(token_buffer_.end(), r.prompt.begin(), r.prompt.end());
  token_buffer_.insert(token_buffer_.end(), r.output.begin(), r.output.end());
  n_tokens_ += r.prompt.size() + r.output.size();
  b.seed.push_back(r.seed);
  b.sampler_profile.push_back(static_cast<std::uint16_t>(table_index(profile_index_, profiles_, r.sampler.profile)));
  b.temperature.push_back(r.sampler.temperature);
  b.top_k.push_back(r.sampler.top_k);
  b.top_p.push_back(r.sampler.top_p);
  b.min_p.push_back(r.sampler.min_p);
  b.model.push_back(static_cast<std::uint16_t>(model));
  b.server.push_back(table_index(server_index_, servers_, r.server));
  append_processors(r);
  b.digest.insert(b.digest.end(), digest.begin(), digest.end());
  head_ = digest;
  if (b.message_id.size() >= flush_messages_) flush();
}

void ShardWriter::append_processors(const LogRecord& r) {
  MessageColumns& b = buffer_;
  const LogitsProcessors& p = r.sampler.processors;
  b.repetition_penalty.push_back(p.repetition_penalty);
  b.presence_penalty.push_back(p.presence_penalty);
  b.frequency_penalty.push_back(p.frequency_penalty);
  b.min_tokens.push_back(p.min_tokens);
  b.repeat_last_n.push_back(p.repeat_last_n);
  b.engine.push_back(static_cast<std::uint16_t>(table_index(engine_index_, engines_, r.engine)));
  auto place = [](auto& flat, const auto& values, std::vector<std::int64_t>& offset, std::vector<std::int32_t>& length) {
    offset.push_back(flat.size);
    length.push_back(static_cast<std::int32_t>(values.size()));
    flat.pending.insert(flat.pending.end(), values.begin(), values.end());
    flat.size += static_cast<std::int64_t>(values.size());
  };
  place(stop_ids_, p.stop_token_ids, b.stop_offset, b.stop_length);
  place(allowed_ids_, p.allowed_token_ids, b.allowed_offset, b.allowed_length);
  b.logit_bias_offset.push_back(bias_ids_.size);
  b.logit_bias_length.push_back(static_cast<std::int32_t>(p.logit_bias.size()));
  for (const auto& [id, bias] : p.logit_bias) {
    bias_ids_.pending.push_back(id);
    bias_values_.pending.push_back(bias);
  }
  bias_ids_.size += static_cast<std::int64_t>(p.logit_bias.size());
  bias_values_.size = bias_ids_.size;
  // Bad words as length-prefixed sequences: [len_1, ids_1..., len_2, ids_2...].
  std::vector<std::int32_t> words;
  for (const auto& word : p.bad_words) {
    words.push_back(static_cast<std::int32_t>(word.size()));
    words.insert(words.end(), word.begin(), word.end());
  }
  place(bad_words_, words, b.bad_words_offset, b.bad_words_length);
}

void ShardWriter::flush() {
  MessageColumns& b = buffer_;
  const hsize_t n = b.message_id.size();
  if (n == 0) return;
  h5::dataset_append<std::int32_t>(datasets_.at(af::kTokens).id(), token_buffer_.data(), token_buffer_.size());
  token_buffer_.clear();
  append_column(datasets_, af::kMessageId, b.message_id, n);
  append_column(datasets_, af::kTimestampUs, b.timestamp_us, n);
  append_column(datasets_, af::kPromptOffset, b.prompt_offset, n);
  append_column(datasets_, af::kPromptLength, b.prompt_length, n);
  append_column(datasets_, af::kOutputOffset, b.output_offset, n);
  append_column(datasets_, af::kOutputLength, b.output_length, n);
  append_column(datasets_, af::kSeed, b.seed, n);
  append_column(datasets_, af::kSamplerProfile, b.sampler_profile, n);
  append_column(datasets_, af::kTemperature, b.temperature, n);
  append_column(datasets_, af::kTopK, b.top_k, n);
  append_column(datasets_, af::kTopP, b.top_p, n);
  append_column(datasets_, af::kMinP, b.min_p, n);
  append_column(datasets_, af::kModel, b.model, n);
  append_column(datasets_, af::kServer, b.server, n);
  append_column(datasets_, af::kDigest, b.digest, n);
  append_column(datasets_, af::kRepetitionPenalty, b.repetition_penalty, n);
  append_column(datasets_, af::kPresencePenalty, b.presence_penalty, n);
  append_column(datasets_, af::kFrequencyPenalty, b.frequency_penalty, n);
  append_column(datasets_, af::kMinTokens, b.min_tokens, n);
  append_column(datasets_, af::kRepeatLastN, b.repeat_last_n, n);
  append_column(datasets_, af::kEngine, b.engine, n);
  append_column(datasets_, af::kStopOffset, b.stop_offset, n);
  append_column(datasets_, af::kStopLength, b.stop_length, n);
  append_column(datasets_, af::kAllowedOffset, b.allowed_offset, n);
  append_column(datasets_, af::kAllowedLength, b.allowed_length, n);
  append_column(datasets_, af::kLogitBiasOffset, b.logit_bias_offset, n);
  append_column(datasets_, af::kLogitBiasLength, b.logit_bias_length, n);
  append_column(datasets_, af::kBadWordsOffset, b.bad_words_offset, n);
  append_column(datasets_, af::kBadWordsLength, b.bad_words_length, n);
  append_all(datasets_, af::kStopTokenIds, stop_ids_.pending);
  append_all(datasets_, af::kAllowedTokenIds, allowed_ids_.pending);
  append_all(datasets_, af::kLogitBiasTokenId, bias_ids_.pending);
  append_all(datasets_, af::kLogitBiasValue, bias_values_.pending);
  append_all(datasets_, af::kBadWords, bad_words_.pending);
  n_written_ += n;
}

void ShardWriter::complete(const std::vector<std::uint8_t>* key) {
  flush();
  hid_t f = file_.id();
  h5::attribute_write_bytes(f, af::kAttrChainHead, head_.data(), head_.size());
  if (key != nullptr) {
    const Digest32 mac = hmac_sha256(*key, std::string(af::kChainHmacTag) +
                                               std::string(reinterpret_cast<const char*>(head_.data()), head_.size()));
    h5::attribute_write_bytes(f, af::kAttrChainHmac, mac.data(), mac.size());
  }
  nlohmann::json models = nlohmann::json::array();
  for (const ModelInfo& m : models_) {
    models.push_back({{"name", m.name}, {"fingerprint", m.fingerprint}, {"vocab_size", m.vocab_size},
                      {"tokenizer", m.tokenizer}});
  }
  h5::attribute_write_string(f, af::kAttrModels, models.dump());
  h5::attribute_write_string(f, af::kAttrSamplerProfiles, nlohmann::json(profiles_).dump());
  h5::attribute_write_string(f, af::kAttrServers, nlohmann::json(servers_).dump());
  nlohmann::json engines = nlohmann::json::array();
  for (const EngineTag& e : engines_) {
    engines.push_back({{"name", e.name}, {"version", e.version}, {"model_runner", e.model_runner}});
  }
  h5::attribute_write_string(f, af::kAttrEngines, engines.dump());
  datasets_.clear();
  file_.close();
  int fd = ::open(path_.c_str(), O_RDONLY);
  FSSL_CHECK(fd >= 0 && ::fsync(fd) == 0, ArchiveError, "{}: fsync failed: {}", path_, std::strerror(errno));
  ::close(fd);
}

}  // namespace fssl
