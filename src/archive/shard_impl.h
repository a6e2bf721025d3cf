// What an open ShardReader holds (private to the archive module): file handles, attributes, tables
// and the message columns, loaded at open by shard_reader.cpp; rows are read by shard_rows.cpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/h5.h"

namespace fssl {

struct ShardReader::Impl {
  std::string path;
  std::int64_t version = 0;  // format_version: 1 or 2
  h5::Handle file, tokens;
  std::uint64_t n_messages = 0, n_tokens = 0;
  std::int64_t shard_index = 0;
  Digest32 genesis{}, head{};
  std::optional<Digest32> hmac;
  std::vector<ModelInfo> models;
  std::vector<std::string> profiles, servers;
  std::vector<EngineTag> engines;  // v2
  MessageColumns cols;
  // v2: the flat processor datasets and their lengths (section 2.5).
  h5::Handle stop_ids, allowed_ids, bias_ids, bias_values, bad_words;
  std::uint64_t n_stop_ids = 0, n_allowed_ids = 0, n_bias = 0, n_bad_words = 0;
};

}  // namespace fssl
