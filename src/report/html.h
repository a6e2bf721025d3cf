// report.html of an audit or calibration run: one self-contained page (inline CSS and SVG, no
// script, no network access) a security reviewer can open from the run directory or attach to
// a ticket. Private to the audit report (report/summary.cpp calls it after summary.json).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "fssl/results.h"

namespace fssl {

// `summary`: the object written to summary.json; `results`: the run's messages in plan order;
// `flag_reasons[i]`: why results[i] is flagged ("" if not). Writes PATH.tmp and renames it over
// PATH; throws ArchiveError naming the file on I/O errors.
void write_audit_html(const std::string& path, const nlohmann::json& summary, const std::vector<MessageResult>& results,
                      const std::vector<std::string>& flag_reasons);

}  // namespace fssl
