// Pieces of report.html shared by its source files (private to src/audit_html*.cpp): summary
// lookups that tolerate missing members, number formatting, table cells, and the page sections.
#pragma once
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "fssl/results.h"

namespace fssl::html {

using nlohmann::json;

constexpr std::size_t kMaxFlaggedRows = 1000;  // rows of the flagged-messages table
constexpr std::size_t kMaxStrips = 50;         // per-token strips of flagged messages
constexpr std::size_t kMaxStripTokens = 4096;  // cells per strip
constexpr std::size_t kMaxUnverifiable = 200;  // rows of the unverifiable-messages table
constexpr const char* kHonestColour = "#1a73e8";
constexpr const char* kFlaggedColour = "#e8710a";

// j[key], or null when j is not an object holding it.
const json& get(const json& j, const char* key);
double number(const json& j, double fallback = std::nan(""));
// Four significant digits; large values as grouped integers (11,151 tok/s, not 1.115e+04).
std::string real(double x);
std::string percent(double fraction);
// A json value as page HTML (escaped): counts grouped, reals to 4 digits, null as a dash.
std::string show(const json& v);
std::string td(const std::string& html, bool numeric = false);
// One key/value row; `id` lets tests/audit/report_check.py find the value in the rendered DOM.
std::string kv(const std::string& label, const std::string& html, const char* id = nullptr);
std::string header_row(std::initializer_list<const char*> names);
std::uint64_t unsigned_or(const json& v, std::uint64_t fallback);

// Sections about the messages (report/html_messages.cpp).
void section_histograms(std::string* out, const json& s, const std::vector<MessageResult>& results,
                        const std::vector<std::string>& flag_reasons);
void section_strata(std::string* out, const json& s);
void section_flagged(std::string* out, const json& s, const std::vector<MessageResult>& results);
void section_unverifiable(std::string* out, const json& s);
void section_timing(std::string* out, const json& s);

}  // namespace fssl::html
