// archive_validate: every invariant of the format, the hash chain and (with a key) the HMACs.
// Problems are collected, never thrown, so one run lists everything that is wrong.
#include <algorithm>
#include <filesystem>
#include <set>

#include "fssl/archive.h"
#include "archive/format.h"

namespace fssl {
namespace af = archive_format;
namespace {

// Rows per batched read while walking the chain: bounds memory on large shards.
constexpr std::uint64_t kValidateBlockRows = 4096;

struct Checker {
  ValidationReport& report;
  void error(const std::string& file, const std::string& what) { add(Problem::Severity::kError, file, -1, {}, what); }
  void warning(const std::string& file, const std::string& what) {
    add(Problem::Severity::kWarning, file, -1, {}, what);
  }
  void record_error(const ShardReader& s, const std::string& file, std::uint64_t row, const std::string& what) {
    add(Problem::Severity::kError, file, static_cast<std::int64_t>(row), s.columns().message_id[row], what);
  }
  void add(Problem::Severity sev, const std::string& file, std::int64_t row, std::optional<std::uint64_t> id,
           const std::string& what) {
    report.problems.push_back(Problem{sev, file, row, id, what});
  }
};

template <typename T>
void compare(Checker& c, const std::string& file, const char* field, const T& manifest, const T& actual) {
  if (!(manifest == actual)) c.error(file, fmt::format("manifest says {} = {}, the shard holds {}", field, manifest, actual));
}

void compare_entry(Checker& c, const ShardEntry& m, const ShardEntry& a) {
  const std::string& f = m.file;
  compare(c, f, "n_messages", m.n_messages, a.n_messages);
  compare(c, f, "n_prompt_tokens", m.n_prompt_tokens, a.n_prompt_tokens);
  compare(c, f, "n_output_tokens", m.n_output_tokens, a.n_output_tokens);
  compare(c, f, "first_message_id", m.first_message_id, a.first_message_id);
  compare(c, f, "last_message_id", m.last_message_id, a.last_message_id);
  compare(c, f, "time_min_us", m.time_min_us, a.time_min_us);
  compare(c, f, "time_max_us", m.time_max_us, a.time_max_us);
  compare(c, f, "bytes", m.bytes, a.bytes);
  compare(c, f, "sha256", hex_encode(m.sha256), hex_encode(a.sha256));
  compare(c, f, "chain_genesis", hex_encode(m.chain_genesis), hex_encode(a.chain_genesis));
  compare(c, f, "chain_head", hex_encode(m.chain_head), hex_encode(a.chain_head));
  if (m.models != a.models) c.error(f, "manifest model counts disagree with the shard");
  if (m.servers != a.servers) c.error(f, "manifest server counts disagree with the shard");
  if (m.sampler_profiles != a.sampler_profiles) c.error(f, "manifest sampler-profile counts disagree with the shard");
}

// Walks every record: structure, value ranges, increasing ids and the digest chain.
void check_records(Checker& c, const ShardReader& s, const std::string& file) {
  const MessageColumns& cols = s.columns();
  Digest32 prev = s.chain_genesis();
  for (std::uint64_t first = 0; first < s.n_messages(); first += kValidateBlockRows) {
    const std::uint64_t last = std::min(first + kValidateBlockRows, s.n_messages());
    std::vector<std::uint64_t> rows;
    for (std::uint64_t row = first; row < last; ++row) rows.push_back(row);
    std::vector<RowRead> read;
    try {
      read = s.read_rows(rows);
    } catch (const ArchiveError&) {
      // A corrupt chunk fails the whole batched read: retry row by row to name only the victims.
      read.resize(rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        try {
          read[i] = std::move(s.read_rows({rows[i]}).front());
        } catch (const ArchiveError& e) {
          read[i] = RecordProblem{fmt::format("tokens unreadable: {}", e.what())};
        }
      }
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const std::uint64_t row = rows[i];
      if (row > 0 && cols.message_id[row] <= cols.message_id[row - 1]) {
        c.record_error(s, file, row, fmt::format("message id not greater than the previous record's ({}): records "
                                                 "reordered or duplicated", cols.message_id[row - 1]));
      }
      if (const auto* p = std::get_if<RecordProblem>(&read[i])) {
        c.record_error(s, file, row, p->reason);
      } else if (!digest_equal(record_digest(prev, std::get<LogRecord>(read[i])), s.stored_digest(row))) {
        c.record_error(s, file, row, "digest mismatch: the record was modified, or a record before it was deleted, "
                                     "inserted or reordered");
        c.report.chain_broken = true;
      }
      ++c.report.n_records_checked;
      // Continue from the stored digest so one bad record is reported once, not for the whole tail.
      prev = s.stored_digest(row);
    }
  }
  if (s.n_messages() > 0 && !digest_equal(prev, s.chain_head())) {
    c.error(file, "chain_head attribute is not the digest of the last record: records removed from or appended to "
                  "the end");
    c.report.chain_broken = true;
  }
}

void check_shard(Checker& c, const ShardReader& s, const ShardEntry& entry, std::size_t k,
                 const std::vector<std::uint8_t>* key) {
  const std::string& file = entry.file;
  if (s.shard_index() != static_cast<std::int64_t>(k)) {
    c.error(file, fmt::format("shard_index attribute {} but position {} in the manifest: shards reordered",
                              s.shard_index(), k));
  }
  if (s.n_messages() == 0) c.error(file, "shard holds no messages");
  compare_entry(c, entry, shard_entry_scan(s));
  check_records(c, s, file);
  if (key != nullptr) {
    const std::string message = std::string(af::kChainHmacTag) +
                                std::string(reinterpret_cast<const char*>(s.chain_head().data()), 32);
    if (!s.chain_hmac()) {
      c.error(file, "no chain_hmac attribute: shard not authenticated");
      c.report.hmac_failed = true;
    } else if (!digest_equal(*s.chain_hmac(), hmac_sha256(*key, message))) {
      c.error(file, "chain_hmac does not verify under the key: wrong key, or chain head rewritten");
      c.report.hmac_failed = true;
    }
  }
  for (const std::string& spec : s.sampler_profiles()) {
    const std::string name = af::sampler_profile_name(spec);
    if (std::find(std::begin(af::kKnownSamplerProfiles), std::end(af::kKnownSamplerProfiles), name) ==
        std::end(af::kKnownSamplerProfiles)) {
      c.warning(file, fmt::format("unknown sampler profile '{}': its messages are unverifiable", spec));
    }
  }
}

}  // namespace

std::string Problem::str() const {
  std::string out = file.empty() ? "" : file + ": ";
  if (row >= 0) out += fmt::format("record {} ", row);
  if (message_id) out += fmt::format("(message id {})", *message_id);
  if (row >= 0 || message_id) out += ": ";
  return out + what;
}

std::size_t ValidationReport::n_errors() const {
  return static_cast<std::size_t>(std::count_if(problems.begin(), problems.end(), [](const Problem& p) {
    return p.severity == Problem::Severity::kError;
  }));
}

std::size_t ValidationReport::n_warnings() const { return problems.size() - n_errors(); }

ValidationReport archive_validate(const std::string& dir, const std::vector<std::uint8_t>* key) {
  ValidationReport report;
  Checker c{report};
  Manifest manifest;
  try {
    manifest = Manifest::read(dir);
  } catch (const ArchiveError& e) {
    c.error(af::kManifestFile, e.what());
    return report;
  }
  if (key != nullptr) {
    report.hmac_checked = true;
    if (!manifest.hmac) {
      c.error(af::kManifestFile, "no hmac: the archive is not authenticated");
      report.hmac_failed = true;
    } else if (!digest_equal(*manifest.hmac, manifest.compute_hmac(*key))) {
      c.error(af::kManifestFile, "hmac does not verify under the key: wrong key, or the shard list was edited");
      report.hmac_failed = true;
    }
  }
  std::set<std::string> listed;
  for (const ShardEntry& e : manifest.shards) listed.insert(e.file);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename();
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".h5") == 0 && listed.count(name) == 0) {
      c.warning(name, "shard file not listed in the manifest: ignored (a writer died before publishing it?)");
    } else if (name.find(af::kPartialSuffix) != std::string::npos) {
      c.warning(name, "unfinished shard of a killed writer: ignored");
    }
  }
  Digest32 prev_head{};
  std::optional<std::uint64_t> prev_last_id;
  for (std::size_t k = 0; k < manifest.shards.size(); ++k) {
    const ShardEntry& entry = manifest.shards[k];
    if (entry.index != static_cast<std::int64_t>(k)) {
      c.error(entry.file, fmt::format("manifest entry {} has index {}", k, entry.index));
    }
    if (!digest_equal(entry.chain_genesis, prev_head)) {
      c.error(entry.file, "chain_genesis is not the previous shard's chain_head: a shard was removed, inserted or "
                          "reordered");
      report.chain_broken = true;
    }
    if (prev_last_id && entry.first_message_id <= *prev_last_id) {
      c.error(entry.file, fmt::format("message ids start at {}, not after the previous shard's last id {}",
                                      entry.first_message_id, *prev_last_id));
    }
    prev_head = entry.chain_head;
    prev_last_id = entry.last_message_id;
    ++report.n_shards;
    report.n_messages += entry.n_messages;
    report.n_tokens += entry.n_prompt_tokens + entry.n_output_tokens;
    try {
      ShardReader shard = ShardReader::open(dir + "/" + entry.file);
      check_shard(c, shard, entry, k, key);
    } catch (const ArchiveError& e) {
      c.error(entry.file, fmt::format("unreadable: {}", e.what()));
    }
  }
  return report;
}

}  // namespace fssl
