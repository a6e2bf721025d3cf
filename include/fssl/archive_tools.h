// Human and machine views of an archive for the `fssl archive` commands: the inspect summary,
// JSONL export, and the validation report. Pure functions of their inputs; not collective.
#pragma once

#include <iosfwd>
#include <string>

#include "fssl/archive.h"

namespace fssl {

// Multi-line summary: totals, time range, models, servers, sampler profiles, one line per shard.
std::string archive_summary_text(const Manifest& manifest, const std::string& dir);
// The same as a JSON document (stable keys, integers only).
std::string archive_summary_json(const Manifest& manifest, const std::string& dir);

// Writes every record in archive order as one JSON line in the import layout plus
// "shard" and "row": `fssl archive import` of the output rebuilds an identical chain.
// Returns the number of records written. Unusable records throw RecordError.
std::uint64_t archive_export_jsonl(ArchiveReader& reader, std::ostream& out);

// Problem lines, then a '#' summary block ending "# verdict : VALID" or "# verdict : INVALID".
std::string validation_report_text(const ValidationReport& report, const std::string& dir);
std::string validation_report_json(const ValidationReport& report, const std::string& dir);

// "2025-11-26T00:00:00.250000Z".
std::string format_time_us(std::int64_t us);

}  // namespace fssl
