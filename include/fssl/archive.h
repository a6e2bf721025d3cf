// The sharded, hash-chained HDF5 log archive: records, manifest, writer, readers, validation.
// Format: docs/archive-format.md (constants in archive/format.h).
//
// Ownership and threads: every class here owns its HDF5 handles (move-only) and must be used from
// one thread at a time (HDF5 is built without thread-safety). Nothing here is collective: under MPI
// each rank opens its own readers; no writer is ever shared between processes.
// Errors: whole-file problems throw ArchiveError naming the file; a bad *record* throws RecordError
// naming file, row and message id (readers) or is collected as a Problem (validation).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fssl/digest.h"
#include "fssl/error.h"

namespace fssl {

// One record is unusable (bad offsets, token id >= vocab size, parameter out of range, ...).
class RecordError : public ArchiveError {
 public:
  using ArchiveError::ArchiveError;
};

// Identity of the model that served a message (one entry of a shard's model table).
struct ModelInfo {
  std::string name;
  std::string fingerprint;       // hex SHA-256 model fingerprint, "" if unknown to the logger
  std::uint32_t vocab_size = 0;  // logits width V; token ids must be < V
  std::string tokenizer;
  bool operator==(const ModelInfo& o) const {
    return name == o.name && fingerprint == o.fingerprint && vocab_size == o.vocab_size && tokenizer == o.tokenizer;
  }
};

// The logits processors a request set, as logged (effective values; archive format v2, section
// 2.5). The defaults are "off"; a record whose processors are all off means what a v1 record
// means and keeps the v1 digest (section 3.1). How each engine applies them: docs/sampler-spec.md.
struct LogitsProcessors {
  float repetition_penalty = 1.0f;     // > 0; 1 = off
  float presence_penalty = 0.0f;       // finite; 0 = off
  float frequency_penalty = 0.0f;      // finite; 0 = off
  std::int32_t min_tokens = 0;         // >= 0: the stop set is masked until this many output tokens
  std::int32_t repeat_last_n = -1;     // llama.cpp's penalty window: -1 = the whole history, 0 = none
  std::vector<std::int32_t> stop_token_ids;                // the message's stop set, EOS included
  std::vector<std::int32_t> allowed_token_ids;             // non-empty: only these can be sampled
  std::vector<std::pair<std::int32_t, float>> logit_bias;  // (token id, bias added to its logit)
  std::vector<std::vector<std::int32_t>> bad_words;        // token sequences that must not be completed

  // Whether any of them can change a logit (stop ids alone, without min_tokens, change nothing).
  bool active() const;
  bool operator==(const LogitsProcessors& o) const;
  bool operator!=(const LogitsProcessors& o) const { return !(*this == o); }
};

// Sampler settings as logged (effective values).
struct SamplerSettings {
  std::string profile = "fssl-philox";  // profile spec "name[:key=value,...]"
  float temperature = 1.0f;             // >= 0; 0 = greedy
  std::int32_t top_k = 0;               // >= 0; 0 = disabled
  float top_p = 1.0f;                   // (0, 1]; 1 = disabled
  float min_p = 0.0f;                   // [0, 1]; 0 = disabled
  LogitsProcessors processors;          // format v2; all off in v1 records
};

// The serving engine a message came from (format v2; empty in v1 records and when not logged).
struct EngineTag {
  std::string name, version, model_runner;  // "vllm", "0.30.1", "v2"
  bool empty() const { return name.empty() && version.empty() && model_runner.empty(); }
  bool operator==(const EngineTag& o) const {
    return name == o.name && version == o.version && model_runner == o.model_runner;
  }
  bool operator<(const EngineTag& o) const {
    return name != o.name ? name < o.name : version != o.version ? version < o.version : model_runner < o.model_runner;
  }
};

// One logged message with every table reference resolved.
struct LogRecord {
  std::uint64_t message_id = 0;
  std::int64_t timestamp_us = 0;   // microseconds since the Unix epoch, UTC
  std::uint64_t seed = 0;
  SamplerSettings sampler;
  ModelInfo model;
  std::string server;
  EngineTag engine;
  std::vector<std::int32_t> prompt;  // [n_prompt] token ids, n_prompt >= 1
  std::vector<std::int32_t> output;  // [n_output] token ids, n_output >= 1
};

// Where a message lives: shard position in the manifest and row inside the shard.
struct MessageRef {
  std::uint32_t shard = 0;
  std::uint64_t row = 0;
  bool operator<(const MessageRef& o) const { return shard != o.shard ? shard < o.shard : row < o.row; }
  bool operator==(const MessageRef& o) const { return shard == o.shard && row == o.row; }
};

// Chain digest of a record given the previous digest (section 3.1 of the format).
Digest32 record_digest(const Digest32& prev, const LogRecord& record);
// Empty string if the record is valid, else what is wrong ("token id 600 >= vocab size 512 ...").
std::string record_problem(const LogRecord& record);

// ---- Manifest -----------------------------------------------------------------------------

struct ShardEntry {
  std::string file;                 // file name inside the archive directory
  std::int64_t index = 0;
  std::uint64_t bytes = 0;
  Digest32 sha256{};                // of the whole file
  std::uint64_t n_messages = 0, n_prompt_tokens = 0, n_output_tokens = 0;
  std::uint64_t first_message_id = 0, last_message_id = 0;
  std::int64_t time_min_us = 0, time_max_us = 0;
  std::map<std::string, std::uint64_t> models, servers, sampler_profiles;  // name -> messages
  Digest32 chain_genesis{}, chain_head{};
};

struct Manifest {
  std::vector<ShardEntry> shards;
  std::optional<Digest32> hmac;

  std::uint64_t n_messages() const;
  std::uint64_t n_tokens() const;
  // HMAC over the shard list (section 3.2).
  Digest32 compute_hmac(const std::vector<std::uint8_t>& key) const;
  // Reads DIR/manifest.json; a missing file gives an empty manifest when allow_missing.
  // Throws ArchiveError naming the file on malformed JSON or fields.
  static Manifest read(const std::string& dir, bool allow_missing = false);
  // Atomic replace: manifest.json.tmp, fsync, rename, fsync of the directory.
  void write(const std::string& dir) const;
  std::string to_json_text() const;
};

// ---- Shard reader -------------------------------------------------------------------------

// Per-message columns of a shard, all [N].
struct MessageColumns {
  std::vector<std::uint64_t> message_id, seed;
  std::vector<std::int64_t> timestamp_us, prompt_offset, output_offset;
  std::vector<std::int32_t> prompt_length, output_length, top_k;
  std::vector<std::uint16_t> sampler_profile, model;
  std::vector<std::uint32_t> server;
  std::vector<float> temperature, top_p, min_p;
  std::vector<std::uint8_t> digest;  // [N, 32]
  // Format v2 (empty for v1 shards): the processors' scalars, the engine index, and where each
  // message's variable-length processor data lies in its flat dataset (offset, length).
  std::vector<float> repetition_penalty, presence_penalty, frequency_penalty;
  std::vector<std::int32_t> min_tokens, repeat_last_n;
  std::vector<std::uint16_t> engine;
  std::vector<std::int64_t> stop_offset, allowed_offset, logit_bias_offset, bad_words_offset;
  std::vector<std::int32_t> stop_length, allowed_length, logit_bias_length, bad_words_length;
};

// Why a stored row cannot be read as a record (offsets, table indices or field values out of
// range), without the row context.
struct RecordProblem {
  std::string reason;
};
// One row as read: its record, or why it is unusable.
using RowRead = std::variant<LogRecord, RecordProblem>;

// An open shard: attributes, tables and message columns are loaded at open; tokens on demand.
class ShardReader {
 public:
  // Checks format, version, attributes, datasets and column lengths. Throws ArchiveError.
  static ShardReader open(const std::string& path);
  ShardReader(ShardReader&&) noexcept;
  ShardReader& operator=(ShardReader&&) noexcept;
  ~ShardReader();

  const std::string& path() const;
  std::int64_t format_version() const;  // 1 or 2
  std::uint64_t n_messages() const;
  std::uint64_t n_tokens() const;  // length of /tokens
  std::int64_t shard_index() const;
  const Digest32& chain_genesis() const;
  const Digest32& chain_head() const;
  const std::optional<Digest32>& chain_hmac() const;
  const std::vector<ModelInfo>& models() const;
  const std::vector<std::string>& sampler_profiles() const;
  const std::vector<std::string>& servers() const;
  const std::vector<EngineTag>& engines() const;  // empty for v1 shards
  const MessageColumns& columns() const;
  Digest32 stored_digest(std::uint64_t row) const;

  struct Impl;  // defined in archive/shard_impl.h

  // Empty if the row's offsets, lengths and table indices are usable, else the reason.
  std::string row_structure_problem(std::uint64_t row) const;
  // Reads one record; throws RecordError naming file, row and message id if it is unusable.
  LogRecord read(std::uint64_t row) const;
  // Reads many records with one HDF5 read of the union of their token ranges; out[i] = rows[i].
  // Each row is its record or, when it is unusable, why (without the row context); the other
  // rows are still read. Throws ArchiveError only when the token read itself fails.
  std::vector<RowRead> read_rows(const std::vector<std::uint64_t>& rows) const;
  // read_rows, but the first unusable row throws RecordError naming file, row and message id.
  std::vector<LogRecord> read_batch(const std::vector<std::uint64_t>& rows) const;
  // "file: record r (message id m)" for messages about a row.
  std::string row_context(std::uint64_t row) const;

 private:
  explicit ShardReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- Archive reader -----------------------------------------------------------------------

// Reads the manifest at open; opens shards lazily and keeps a bounded number open.
class ArchiveReader {
 public:
  static ArchiveReader open(const std::string& dir);
  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  const ShardReader& shard(std::uint32_t k);
  LogRecord read(const MessageRef& ref);
  // Result i is refs[i]; records of one shard are read with one batched read.
  std::vector<LogRecord> read_batch(const std::vector<MessageRef>& refs);

 private:
  std::string dir_;
  Manifest manifest_;
  std::map<std::uint32_t, ShardReader> open_;
};

// ---- Writer -------------------------------------------------------------------------------

struct WriterOptions {
  std::uint64_t shard_messages = 100000;           // roll to a new shard after this many messages
  std::optional<std::vector<std::uint8_t>> key;     // HMAC key; none = chain only
  std::uint64_t flush_messages = 1024;              // buffered rows before an HDF5 append
  std::uint64_t tokens_chunk = 8192;                // /tokens chunk in elements (fssl bench archive measures)
};

// Appends records to an archive directory (created if absent), rolling shards and keeping the
// manifest valid after every completed shard. Holds an exclusive flock on DIR/.lock: one writer
// per archive. On open it discards unfinished `.partial` shards of a killed writer and adopts a
// complete shard the manifest does not list yet.
class ArchiveWriter {
 public:
  static ArchiveWriter open(const std::string& dir, const WriterOptions& options);
  ArchiveWriter(ArchiveWriter&&) noexcept;
  ArchiveWriter& operator=(ArchiveWriter&&) noexcept;
  // Completes the current shard if close() was not called (errors are logged, not thrown).
  ~ArchiveWriter();

  // The id append() expects next at least: one more than the largest id in the archive.
  std::uint64_t next_message_id() const;
  // Appends one record; throws RecordError (nothing written) if record_problem() is non-empty or
  // its message id is not greater than every id already in the archive.
  void append(const LogRecord& record);
  // Completes the current shard now (it becomes visible in the manifest).
  void finish_shard();
  // finish_shard() and release the lock.
  void close();
  const Manifest& manifest() const;

  struct Impl;  // defined in archive/writer.cpp

 private:
  explicit ArchiveWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Scans a complete shard into its manifest entry (reads columns and hashes the file).
ShardEntry shard_entry_scan(const ShardReader& shard);

// ---- Validation ---------------------------------------------------------------------------

struct Problem {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kError;
  std::string file;                        // shard file name, "manifest.json", or "" for the archive
  std::int64_t row = -1;                   // record row inside the shard, -1 if not a record
  std::optional<std::uint64_t> message_id;
  std::string what;
  std::string str() const;  // "shard-000001.h5: record 17 (message id 1234): what"
};

struct ValidationReport {
  std::vector<Problem> problems;
  std::uint64_t n_shards = 0, n_messages = 0, n_tokens = 0;
  std::uint64_t n_records_checked = 0;
  bool hmac_checked = false;
  bool chain_broken = false;   // a digest, chain head or shard link did not verify
  bool hmac_failed = false;    // with a key: an HMAC was missing or did not verify
  std::size_t n_errors() const;
  std::size_t n_warnings() const;
  bool ok() const { return n_errors() == 0; }
};

// Checks every invariant of the archive and its hash chain; with a key also the HMACs.
// Never throws for bad content: every problem found is listed (not just the first).
ValidationReport archive_validate(const std::string& dir, const std::vector<std::uint8_t>* key);

}  // namespace fssl
