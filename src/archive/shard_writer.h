// ShardWriter: one shard file being written (private to the archive writer).
// Buffers rows and tokens in memory and appends them to extendible HDF5 datasets every
// `options.flush_messages` rows; writes the chain head, HMAC and tables when completed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/h5.h"

namespace fssl {

class ShardWriter {
 public:
  // Creates `path` (truncating) with its datasets and the format attributes.
  ShardWriter(std::string path, std::int64_t index, const Digest32& genesis, const WriterOptions& options);

  const std::string& path() const { return path_; }
  std::int64_t index() const { return index_; }
  std::uint64_t n_messages() const { return n_written_ + buffer_.message_id.size(); }

  // Non-empty if the record's model name is already in this shard with another identity.
  std::string table_conflict(const LogRecord& record) const;
  // Buffers the record (flushing when the buffer is full). `digest` is its chain digest.
  void append(const LogRecord& record, const Digest32& digest);
  // Flushes, writes chain head (+ HMAC with a key) and tables, closes and fsyncs the file.
  void complete(const std::vector<std::uint8_t>* key);

 private:
  void flush();
  void append_processors(const LogRecord& r);
  template <typename T>
  std::uint32_t table_index(std::map<T, std::uint32_t>& index, std::vector<T>& table, const T& value);

  // A flat dataset of per-message variable-length data (format v2): values not yet appended, and
  // how many values the file and the buffer hold together (the next message's offset).
  template <typename T>
  struct Flat {
    std::vector<T> pending;
    std::int64_t size = 0;
  };

  std::string path_;
  std::int64_t index_;
  Digest32 genesis_, head_;
  std::uint64_t flush_messages_;
  h5::Handle file_;
  std::map<std::string, h5::Handle> datasets_;  // by dataset path
  MessageColumns buffer_;                       // rows not yet appended
  std::vector<std::int32_t> token_buffer_;
  std::uint64_t n_written_ = 0, n_tokens_ = 0;  // rows and tokens already in the file or buffer
  std::vector<std::string> model_names_, profiles_, servers_;
  std::vector<ModelInfo> models_;
  std::map<std::string, std::uint32_t> model_index_, profile_index_, server_index_;
  std::vector<EngineTag> engines_;
  std::map<EngineTag, std::uint32_t> engine_index_;
  Flat<std::int32_t> stop_ids_, allowed_ids_, bias_ids_, bad_words_;
  Flat<float> bias_values_;
};

}  // namespace fssl
