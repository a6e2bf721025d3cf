// ArchiveReader (manifest + lazily opened shards) and the scan of a shard into its manifest entry.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fssl/archive.h"

namespace fssl {
namespace {

// Shards kept open at once: enough for a batch spread over many shards, far below fd limits.
constexpr std::size_t kMaxOpenShards = 64;

std::string base_name(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

ShardEntry shard_entry_scan(const ShardReader& shard) {
  const MessageColumns& c = shard.columns();
  ShardEntry e;
  e.file = base_name(shard.path());
  e.index = shard.shard_index();
  e.n_messages = shard.n_messages();
  e.chain_genesis = shard.chain_genesis();
  e.chain_head = shard.chain_head();
  for (std::uint64_t row = 0; row < e.n_messages; ++row) {
    e.n_prompt_tokens += static_cast<std::uint64_t>(std::max(c.prompt_length[row], 0));
    e.n_output_tokens += static_cast<std::uint64_t>(std::max(c.output_length[row], 0));
    auto name_or_index = [](const auto& table, std::size_t i) -> std::string {
      return i < table.size() ? std::string(table[i]) : fmt::format("<bad index {}>", i);
    };
    std::string model = c.model[row] < shard.models().size() ? shard.models()[c.model[row]].name
                                                              : fmt::format("<bad index {}>", c.model[row]);
    ++e.models[model];
    ++e.servers[name_or_index(shard.servers(), c.server[row])];
    ++e.sampler_profiles[name_or_index(shard.sampler_profiles(), c.sampler_profile[row])];
  }
  if (e.n_messages > 0) {
    e.first_message_id = c.message_id.front();
    e.last_message_id = c.message_id.back();
    auto [lo, hi] = std::minmax_element(c.timestamp_us.begin(), c.timestamp_us.end());
    e.time_min_us = *lo;
    e.time_max_us = *hi;
  }
  struct stat st {};
  FSSL_CHECK(::stat(shard.path().c_str(), &st) == 0, ArchiveError, "{}: stat failed: {}", shard.path(),
             std::strerror(errno));
  e.bytes = static_cast<std::uint64_t>(st.st_size);
  e.sha256 = sha256_file(shard.path());
  return e;
}

ArchiveReader ArchiveReader::open(const std::string& dir) {
  ArchiveReader r;
  r.dir_ = dir;
  r.manifest_ = Manifest::read(dir);
  return r;
}

const ShardReader& ArchiveReader::shard(std::uint32_t k) {
  FSSL_CHECK(k < manifest_.shards.size(), ArchiveError, "{}: shard {} requested, the manifest lists {}", dir_, k,
             manifest_.shards.size());
  auto it = open_.find(k);
  if (it != open_.end()) return it->second;
  if (open_.size() >= kMaxOpenShards) open_.clear();
  ShardReader shard = ShardReader::open(dir_ + "/" + manifest_.shards[k].file);
  FSSL_CHECK(shard.n_messages() == manifest_.shards[k].n_messages, ArchiveError,
             "{}: holds {} messages, the manifest says {} (run fssl archive validate)", shard.path(),
             shard.n_messages(), manifest_.shards[k].n_messages);
  return open_.emplace(k, std::move(shard)).first->second;
}

LogRecord ArchiveReader::read(const MessageRef& ref) { return shard(ref.shard).read(ref.row); }

std::vector<LogRecord> ArchiveReader::read_batch(const std::vector<MessageRef>& refs) {
  std::vector<LogRecord> out(refs.size());
  // Group by shard so each shard is touched by one batched read.
  std::map<std::uint32_t, std::vector<std::size_t>> by_shard;
  for (std::size_t i = 0; i < refs.size(); ++i) by_shard[refs[i].shard].push_back(i);
  for (const auto& [k, positions] : by_shard) {
    std::vector<std::uint64_t> rows;
    rows.reserve(positions.size());
    for (std::size_t i : positions) rows.push_back(refs[i].row);
    std::vector<LogRecord> records = shard(k).read_batch(rows);
    for (std::size_t j = 0; j < positions.size(); ++j) out[positions[j]] = std::move(records[j]);
  }
  return out;
}

}  // namespace fssl
