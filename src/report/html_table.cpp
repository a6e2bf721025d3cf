// Formatting and table cells of report.html (report/html_page.h).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "report/html_page.h"
#include "report/html_svg.h"
#include "fssl/error.h"
#include "fssl/scoring_types.h"

namespace fssl::html {

// j[key], or null when j is not an object holding it.
const json& get(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double number(const json& j, double fallback) { return j.is_number() ? j.get<double>() : fallback; }

// Four significant digits; large values as grouped integers (11,151 tok/s, not 1.115e+04).
std::string real(double x) {
  if (std::isnan(x)) return "n/a";
  if (std::isinf(x)) return x > 0 ? "∞" : "−∞";
  if ((std::fabs(x) >= 1e4 || (std::fabs(x) >= 1e3 && x == std::round(x))) && std::fabs(x) < 1e15) {
    const auto r = static_cast<std::int64_t>(std::llround(x));
    return (r < 0 ? "-" : "") + grouped(static_cast<std::uint64_t>(r < 0 ? -r : r));
  }
  return fmt::format("{:.4g}", x);
}

std::string percent(double fraction) { return std::isnan(fraction) ? "n/a" : real(100 * fraction) + "%"; }

// A json value as page HTML (escaped): counts grouped, reals to 4 digits, null as a dash.
std::string show(const json& v) {
  if (v.is_null()) return "—";
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_unsigned()) return grouped(v.get<std::uint64_t>());
  if (v.is_number_integer()) {
    const auto x = v.get<std::int64_t>();
    return x < 0 ? "-" + grouped(0 - static_cast<std::uint64_t>(x)) : grouped(static_cast<std::uint64_t>(x));
  }
  if (v.is_number()) return real(v.get<double>());
  return html_escape(v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string td(const std::string& html, bool numeric) {
  return (numeric ? "<td class=\"n\">" : "<td>") + html + "</td>";
}

// One key/value row; `id` lets tests/audit/report_check.py find the value in the rendered DOM.
std::string kv(const std::string& label, const std::string& html, const char* id) {
  return "<tr><th>" + label + "</th><td" + (id ? fmt::format(" id=\"{}\"", id) : "") + ">" + html + "</td></tr>";
}

std::string header_row(std::initializer_list<const char*> names) {
  std::string s = "<tr>";
  for (const char* n : names) s += fmt::format("<th>{}</th>", n);
  return s + "</tr>";
}

std::uint64_t unsigned_or(const json& v, std::uint64_t fallback) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  return v.is_number_integer() && v.get<std::int64_t>() >= 0 ? v.get<std::uint64_t>() : fallback;
}

}  // namespace fssl::html
