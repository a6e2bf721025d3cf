// Importing logs into an archive: JSONL in the fssl layout or the token-difr layout
// (docs/archive-format.md section 5). Streams line by line in constant memory.
// Bad lines are data: skipped, counted by reason and named with their line number; good lines are
// always kept. Single-threaded; not collective.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fssl/archive.h"

namespace fssl {

// Values for fields a line does not carry.
struct ImportDefaults {
  SamplerSettings sampler;
  std::string model = "unknown";
  std::string server = "unknown";
  std::string model_fingerprint;          // applies to every model name in the input
  std::uint32_t vocab_size = 0;           // required (> 0): token ids are checked against it
  std::string tokenizer;
  std::optional<std::uint64_t> seed;      // token-difr lines without a seed use this
  std::int64_t timestamp_us = 0;          // lines without a timestamp
};

struct ImportStats {
  std::uint64_t n_lines = 0;       // non-empty lines read
  std::uint64_t n_messages = 0;    // records appended
  std::uint64_t n_bad_lines = 0;   // lines skipped
  std::map<std::string, std::uint64_t> bad_by_reason;  // "malformed JSON", "missing field", ...
  std::vector<std::string> problems;  // "input.jsonl:17: missing field 'seed'", the first kMaxListed
  static constexpr std::size_t kMaxListed = 50;
};

// Parses one line into records (several for a token-difr line with several outputs); message ids
// are taken from the line or assigned from next_id. Throws ImportLineError on a bad line.
class ImportLineError : public Error {
 public:
  ImportLineError(std::string reason, const std::string& what) : Error(what), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }
  int exit_code() const override { return kExitInput; }

 private:
  std::string reason_;
};
std::vector<LogRecord> import_parse_line(const std::string& line, const ImportDefaults& defaults,
                                         std::uint64_t next_id);

// Imports every line of `in` (named `input_name` in messages) through `writer`.
ImportStats archive_import_jsonl(std::istream& in, const std::string& input_name, ArchiveWriter& writer,
                                 const ImportDefaults& defaults);

// Parses "2025-11-26T00:00:00.250Z" (RFC 3339, 'Z' or +hh:mm offset) to microseconds since the
// epoch; false if malformed.
bool parse_rfc3339_us(const std::string& text, std::int64_t* out);

}  // namespace fssl
