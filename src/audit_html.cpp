// report.html of an audit or calibration run (audit_html.h): summary.json's sections as tables,
// the frontier and the honest-vs-flagged histograms as inline SVG (audit_html_svg.h), and a
// per-token strip of each flagged message. Every member is optional (an incomplete run lacks
// some); every string from the data is escaped.
#include "audit_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>

#include "audit_html_svg.h"
#include "fssl/error.h"
#include "fssl/scoring.h"

namespace fssl {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFlaggedRows = 1000;  // rows of the flagged-messages table
constexpr std::size_t kMaxStrips = 50;         // per-token strips of flagged messages
constexpr std::size_t kMaxStripTokens = 4096;  // cells per strip
constexpr std::size_t kMaxUnverifiable = 200;  // rows of the unverifiable-messages table
constexpr const char* kHonestColour = "#1a73e8";
constexpr const char* kFlaggedColour = "#e8710a";

// The CSP forbids every fetch and script even if a string slipped through unescaped.
constexpr const char* kHead = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px auto;max-width:1120px;padding:0 16px;color:#202124;line-height:1.4}}
h1{{font-size:24px;margin:0 0 8px}} h2{{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}}
h3{{font-size:16px;margin:20px 0 6px}}
table{{border-collapse:collapse;margin:8px 0;font-size:13px}}
th,td{{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}}
th{{background:#f4f5f7;font-weight:600}} td.n{{text-align:right;font-variant-numeric:tabular-nums}}
table.kv th{{min-width:210px}} code{{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}}
.ok{{color:#137333;font-weight:600}} .bad{{color:#c5221f;font-weight:600}} .warn{{color:#b06000;font-weight:600}}
.note{{color:#5f6368;font-size:13px}} .strip-head{{font-size:13px}} ul.statements li{{margin:4px 0}}
.strip{{display:flex;flex-wrap:wrap;gap:1px;margin:4px 0 14px}} .strip span{{width:7px;height:14px}}
.safe{{background:#c6e2c6}} .suspicious{{background:#f9ab00}} .dangerous{{background:#d93025}}
.key span{{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}}
svg.chart{{display:block;margin:8px 0;border:1px solid #eee;background:#fff}}
</style></head><body>
)";

// j[key], or null when j is not an object holding it.
const json& get(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double number(const json& j, double fallback = std::nan("")) { return j.is_number() ? j.get<double>() : fallback; }

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

std::string td(const std::string& html, bool numeric = false) {
  return (numeric ? "<td class=\"n\">" : "<td>") + html + "</td>";
}

// One key/value row; `id` lets tests/audit/report_check.py find the value in the rendered DOM.
std::string kv(const std::string& label, const std::string& html, const char* id = nullptr) {
  return "<tr><th>" + label + "</th><td" + (id ? fmt::format(" id=\"{}\"", id) : "") + ">" + html + "</td></tr>";
}

std::string header_row(std::initializer_list<const char*> names) {
  std::string s = "<tr>";
  for (const char* n : names) s += fmt::format("<th>{}</th>", n);
  return s + "</tr>";
}

void section_header(std::string* out, const json& s, bool calibration) {
  const json& config = get(s, "config");
  const json& score = get(config, "score");
  const json& run = get(s, "run");
  const bool complete = get(s, "status") == "complete";
  const json& findings = get(get(s, "verdict"), "findings");
  *out += fmt::format("<h1>{}</h1><table class=\"kv\">", calibration ? "fssl calibration report" : "fssl audit report");
  std::string status =
      fmt::format("<span id=\"status\" class=\"{}\">{}</span> (exit code <span id=\"exit-code\">{}</span>)",
                  complete ? "ok" : "warn", show(get(s, "status")), show(get(s, "exit_code")));
  if (!get(s, "stop_reason").is_null()) status += ": stopped, " + show(get(s, "stop_reason"));
  *out += kv("status", status);
  std::string verdict;
  if (!complete) {
    verdict = "<span id=\"verdict\" class=\"warn\">incomplete: no verdict</span>";
  } else if (get(get(s, "verdict"), "within_policy") == true) {
    verdict = "<span id=\"verdict\" class=\"ok\">within policy</span>";
  } else {
    verdict = "<span id=\"verdict\" class=\"bad\">findings over policy</span>";
  }
  if (findings.is_array() && !findings.empty()) {
    verdict += "<ul id=\"findings\">";
    for (const json& f : findings) verdict += "<li>" + show(f) + "</li>";
    verdict += "</ul>";
  }
  *out += kv("verdict", verdict);
  *out += kv("archive digest", "<code>" + show(get(get(s, "archive"), "digest")) + "</code>");
  *out += kv("model fingerprint", "<code>" + show(get(get(s, "model"), "fingerprint")) + "</code>");
  *out += kv("archive / model",
             "<code>" + show(get(config, "archive")) + "</code><br><code>" + show(get(config, "model")) + "</code>");
  *out += kv("audit seed", show(get(config, "seed")));
  const double fraction = number(get(config, "fraction"), 0.0);
  *out += kv("sample", fraction > 0 ? "each message with probability " + real(fraction)
                                    : show(get(config, "sample_size")) + " messages" +
                                          (get(config, "stratify").is_string() && get(config, "stratify") != "none"
                                               ? " per " + show(get(config, "stratify"))
                                               : ""));
  *out += kv("margin threshold / rank cutoff",
             show(get(score, "margin_threshold")) + " logits / R = " + show(get(score, "rank_cutoff")));
  const json& ipt = get(config, "ipt");
  if (ipt.is_object()) {
    *out += kv("inverse-CDF distance threshold / rank cutoff",
               show(get(ipt, "distance_threshold")) + " / R = " + show(get(ipt, "rank_cutoff")));
  }
  *out += kv("replay dtype", show(get(config, "dtype")));
  *out += kv("fssl version", show(get(run, "fssl_version")) + " (git " + show(get(run, "git_sha")) + "), TP size " +
                                 show(get(run, "tp_size")) + ", resumed batches " + show(get(run, "resumed_batches")));
  *out += "</table>";
}

void family_row(std::string* out, const char* name, const json& f) {
  const json& tiers = get(f, "tiers");
  const double tokens = number(get(f, "tokens"), 0.0);
  *out += "<tr>" + td(name) + td(show(get(f, "messages")), true) + td(show(get(f, "tokens")), true) +
          td(percent(number(get(f, "exact_rate"))), true) + td(show(get(tiers, "safe")), true) +
          td(show(get(tiers, "suspicious")), true) + td(show(get(tiers, "dangerous")), true) +
          td(real(number(get(f, "charged_bits"))), true) +
          td(tokens > 0 ? real(number(get(f, "charged_bits")) / tokens) : "—", true) + "</tr>";
}

void section_totals(std::string* out, const json& s) {
  const json& totals = get(s, "totals");
  *out += "<h2>Totals</h2><table class=\"kv\">";
  for (const char* key : {"planned", "done", "scored", "unverifiable", "quarantined", "flagged"}) {
    *out += kv(key, show(get(totals, key)), fmt::format("totals-{}", key).c_str());
  }
  *out += "</table><table>" + header_row({"sampler family", "messages", "tokens", "exact", "safe", "suspicious",
                                          "dangerous", "charged bits", "bits / token"});
  const json& ipt = get(s, "inverse_cdf");
  family_row(out, "Gumbel-max", get(s, "gumbel_max"));
  if (number(get(ipt, "tokens"), 0.0) > 0) family_row(out, "inverse-CDF", ipt);
  *out += "</table>";
  const json& policy = get(get(s, "config"), "policy");
  const json& verdict = get(s, "verdict");
  *out += "<h3>Policy</h3><p>";
  if (get(s, "status") != "complete") {
    *out += "<span class=\"warn\">The run is incomplete: no policy verdict.</span>";
  } else if (get(verdict, "within_policy") == true) {
    *out += "<span class=\"ok\">Within policy.</span>";
  } else {
    *out += "<span class=\"bad\">Findings over policy:</span> ";
    for (const json& f : get(verdict, "findings")) *out += show(f) + ". ";
  }
  *out += "</p><table class=\"kv\">";
  *out += kv("flag a message at", show(get(policy, "dangerous_tokens")) + " dangerous token(s), or more than " +
                                      percent(number(get(policy, "suspicious_fraction"))) + " of its tokens not safe");
  *out += kv("flagged messages allowed", show(get(policy, "max_flagged_messages")));
  *out += kv("unverifiable share allowed", percent(number(get(policy, "max_unverifiable_fraction"))));
  *out += kv("quarantined shard is a finding", show(get(policy, "quarantine_is_finding")));
  *out += kv("token FPR upper bound allowed", percent(number(get(policy, "max_dangerous_rate"))));
  *out += kv("information upper bound allowed", real(number(get(policy, "max_info_percent"))) + "% of log2 V");
  *out += kv("malicious share upper bound allowed", percent(number(get(policy, "max_malicious_fraction"))));
  *out += "</table>";
}

void section_bounds(std::string* out, const json& s) {
  const json& bounds = get(s, "bounds");
  *out += "<h2>Confidence statements</h2>";
  if (!bounds.is_object() || bounds.empty()) {
    *out += "<p class=\"note\">No bounds in this summary.</p>";
    return;
  }
  const json& statements = get(bounds, "statements");
  *out += "<ul class=\"statements\">";
  if (statements.is_array()) {
    for (const json& line : statements) *out += "<li>" + show(line) + "</li>";
  }
  *out += "</ul><table class=\"kv\">";
  *out += kv("confidence", percent(number(get(bounds, "confidence"))));
  const json& fpr = get(bounds, "token_fpr");
  *out += kv("token FPR", percent(number(get(fpr, "rate"))) + " (" + show(get(fpr, "dangerous_tokens")) +
                              " dangerous of " + show(get(fpr, "tokens")) + " scored tokens)");
  *out += kv("token FPR interval", percent(number(get(fpr, "lower"))) + " to <span id=\"token-fpr-upper\">" +
                                       percent(number(get(fpr, "upper"))) + "</span>");
  const json& info = get(bounds, "information");
  *out += kv("bits per accepted token", real(number(get(info, "bits_per_token"))) + " (" +
                                            real(number(get(info, "bits_per_token_lower"))) + " to " +
                                            real(number(get(info, "bits_per_token_upper"))) + ")");
  *out += kv("information, % of log2 V", real(number(get(info, "info_percent"))) +
                                             "%, upper bound <span id=\"info-upper\">" +
                                             real(number(get(info, "info_percent_upper"))) + "%</span>");
  *out += kv("covert bits, upper bound", real(number(get(info, "covert_bits_upper"))) + " over " +
                                             real(number(get(info, "population_output_tokens"))) + " output tokens");
  const json& ex = get(info, "exfiltration");
  if (ex.is_object()) {
    *out += kv("days to exfiltrate the secret", real(number(get(ex, "days_unverified"))) + " unverified, " +
                                                    real(number(get(ex, "days_at_bound"))) + " within the bound (" +
                                                    real(number(get(ex, "slowdown"))) + "x slower)");
  }
  const json& mal = get(bounds, "malicious");
  *out += kv("malicious share, upper bound",
             "<span id=\"malicious-upper\">" + percent(number(get(mal, "malicious_fraction_upper"))) + "</span> (" +
                 show(get(mal, "flagged")) + " flagged of " + show(get(mal, "sampled")) + " sampled, population " +
                 show(get(mal, "population")) + ")");
  *out += kv("catch probability", real(number(get(mal, "catch_probability"))) + " had " +
                                      percent(number(get(mal, "detect_fraction"))) + " been malicious");
  *out += "</table>";
}

std::uint64_t unsigned_or(const json& v, std::uint64_t fallback) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  return v.is_number_integer() && v.get<std::int64_t>() >= 0 ? v.get<std::uint64_t>() : fallback;
}

std::string point_text(const json& p) {
  return fmt::format("threshold {}, rank cutoff {}: FPR {}%, Info {}%", real(number(get(p, "threshold"))),
                     show(get(p, "rank_cutoff")), real(number(get(p, "fpr_percent"))),
                     real(number(get(p, "info_percent"))));
}

void section_calibration(std::string* out, const json& s) {
  *out += "<h2>Calibration: FPR vs information frontier</h2>";
  bool any = false;
  for (const auto& [key, name] : {std::pair{"gumbel_max", "Gumbel-max (margin threshold in logits)"},
                                  std::pair{"inverse_cdf", "inverse-CDF (distance threshold in probability)"}}) {
    const json& c = get(get(s, "calibration"), key);
    const json& points = get(c, "points");
    if (!points.is_array() || points.empty() || number(get(c, "tokens"), 0.0) <= 0) continue;
    any = true;
    const json& op = get(c, "operating_point");
    auto is_op = [&](const json& p) {
      return op.is_object() && get(p, "threshold") == get(op, "threshold") &&
             get(p, "rank_cutoff") == get(op, "rank_cutoff");
    };
    std::vector<ChartPoint> chart;
    std::vector<const json*> frontier;
    bool op_drawn = false, zero_fpr = false;
    std::size_t n_kept = 0;
    for (const json& p : points) {
      if (get(p, "on_frontier") == true) frontier.push_back(&p);
      if (get(p, "kept") != true) continue;
      ++n_kept;
      chart.push_back({number(get(p, "fpr_percent"), 0.0), number(get(p, "info_percent"), 0.0),
                       get(p, "on_frontier") == true, is_op(p),
                       point_text(p) + ", suspicious " + real(number(get(p, "suspicious_percent"))) + "%"});
      op_drawn = op_drawn || chart.back().operating;
      zero_fpr = zero_fpr || chart.back().fpr_percent <= 0;
    }
    if (op.is_object() && !op_drawn) {
      chart.push_back(
          {number(get(op, "fpr_percent"), 0.0), number(get(op, "info_percent"), 0.0), true, true, point_text(op)});
    }
    *out += fmt::format(
        "<h3>{}</h3><p>{} honest tokens, log2 V = {}; {} of {} points kept (the others have too many "
        "suspicious tokens), {} on the frontier.</p>",
        name, show(get(c, "tokens")), real(number(get(c, "log2_vocab"))), n_kept, points.size(), frontier.size());
    *out += "<p>Operating point: " +
            (op.is_object() ? fmt::format("<span id=\"operating-point-{}\">{}</span>", key, html_escape(point_text(op)))
                            : std::string("<span class=\"bad\">none meets the target FPR</span>")) +
            "</p>";
    *out += svg_frontier_chart(chart);
    if (zero_fpr)
      *out +=
          "<p class=\"note\">Points with FPR 0 (no dangerous honest token) sit in the lane labelled 0, left of the "
          "dashed break.</p>";
    std::sort(frontier.begin(), frontier.end(), [](const json* a, const json* b) {
      return number(get(*a, "fpr_percent"), 0.0) < number(get(*b, "fpr_percent"), 0.0);
    });
    *out += "<table>" + header_row({"threshold", "rank cutoff R", "FPR %", "Info %", "suspicious %", ""});
    for (const json* p : frontier) {
      *out += "<tr>" + td(show(get(*p, "threshold")), true) + td(show(get(*p, "rank_cutoff")), true) +
              td(real(number(get(*p, "fpr_percent"))), true) + td(real(number(get(*p, "info_percent"))), true) +
              td(real(number(get(*p, "suspicious_percent"))), true) + td(is_op(*p) ? "operating point" : "") + "</tr>";
    }
    *out += "</table>";
  }
  if (!any) *out += "<p class=\"note\">No calibration points (no honest tokens were scored).</p>";
}

// Upper bin edges of the margin histogram; summary.json writes +inf as the string "inf".
std::vector<double> margin_edges(const json& s) {
  std::vector<double> edges;
  const json& listed = get(get(get(s, "gumbel_max"), "margin_histogram"), "upper_edges");
  if (listed.is_array()) {
    for (const json& e : listed) {
      if (e.is_number()) edges.push_back(e.get<double>());
      if (e == "inf") edges.push_back(HUGE_VAL);
    }
  }
  if (edges.empty()) {  // AuditStats' bins: 0, then four per decade from 1e-4 to 100
    edges.push_back(0.0);
    for (int k = 0; k <= 24; ++k) edges.push_back(std::pow(10.0, -4 + k / 4.0));
  }
  if (!std::isinf(edges.back())) edges.push_back(HUGE_VAL);
  return edges;
}

// Calls visit(group, margin, gmls) for every token of a scored Gumbel-max message, group 1 for
// the tokens of flagged messages, 0 for the rest; gmls is NaN when the row has no GM-LS column.
template <typename Visit>
void for_each_token(const std::vector<MessageResult>& results, const std::vector<std::string>& flag_reasons,
                    Visit visit) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const TokenScores& t = results[i].tokens;
    const std::size_t n = t.size();
    if (results[i].status != MessageStatus::kScored || results[i].inverse_cdf || n == 0 || t.margin.size() != n)
      continue;
    const int group = i < flag_reasons.size() && !flag_reasons[i].empty() ? 1 : 0;
    const std::size_t n_sigmas = t.likelihood.size() / n;  // column 0: the first sigma
    for (std::size_t k = 0; k < n; ++k) visit(group, t.margin[k], n_sigmas ? t.likelihood[k * n_sigmas] : NAN);
  }
}

std::vector<HistogramSeries> honest_and_flagged(std::size_t n_bins) {
  return {{"honest", kHonestColour, std::vector<std::uint64_t>(n_bins)},
          {"flagged", kFlaggedColour, std::vector<std::uint64_t>(n_bins)}};
}

// Counted in two passes over the results (the GM-LS span first), so that a large audit's
// tokens are not copied.
void section_histograms(std::string* out, const json& s, const std::vector<MessageResult>& results,
                        const std::vector<std::string>& flag_reasons) {
  *out += "<h2>Margins: honest vs flagged messages</h2>";
  const std::vector<double> edges = margin_edges(s);
  const HistogramBins bins =
      margin_histogram_bins(edges, number(get(get(get(s, "config"), "score"), "margin_threshold")));
  const char* x_title = "margin Δ (logits), log-spaced bins";
  std::uint64_t n_tokens = 0, n_gmls = 0;
  GmlsBins gmls_bins;
  for_each_token(results, flag_reasons, [&](int, float, float gmls) {
    ++n_tokens;
    if (!std::isnan(gmls)) ++n_gmls, gmls_bins.observe(gmls);
  });
  if (n_tokens == 0) {
    // No per-token results (or none of a Gumbel-max profile): summary.json's own histogram.
    if (number(get(get(s, "gumbel_max"), "tokens"), 0.0) <= 0) {
      *out += "<p class=\"note\">No Gumbel-max token was scored.</p>";
      return;
    }
    HistogramSeries all{"all scored tokens", kHonestColour, {}};
    const json& listed = get(get(get(s, "gumbel_max"), "margin_histogram"), "tokens");
    for (const json& c : listed.is_array() ? listed : json::array()) all.counts.push_back(unsigned_or(c, 0));
    all.counts.resize(edges.size());
    *out += svg_histogram(bins, {all}, x_title, "share of the tokens");
    *out +=
        "<p class=\"note\">Per-token results are not part of this report: the margins of all scored tokens "
        "(summary.json), without the honest/flagged split.</p>";
    return;
  }
  std::vector<HistogramSeries> margins = honest_and_flagged(edges.size());
  std::vector<HistogramSeries> gmls = honest_and_flagged(gmls_bins.size());
  for_each_token(results, flag_reasons, [&](int group, float margin, float value) {
    if (!std::isnan(margin)) ++margins[group].counts[margin_histogram_bin(edges, margin)];
    if (!std::isnan(value)) ++gmls[group].counts[gmls_bins.bin(value)];
  });
  *out += svg_histogram(bins, margins, x_title, "share of the group's tokens");
  *out +=
      "<p class=\"note\">Share of each group's Gumbel-max tokens per margin bin: a token falls in the first bin "
      "whose upper edge is at least its margin (the leftmost bin: margins ≤ 0, exact replays). Dashed: the margin "
      "threshold.</p>";
  if (n_gmls == 0) return;
  const json& sigmas = get(get(get(s, "config"), "score"), "sigmas");
  const std::string sigma = sigmas.is_array() && !sigmas.empty() ? show(sigmas[0]) : std::string("σ₀");
  *out += svg_histogram(gmls_bins.bins(), gmls,
                        "GM-LS at σ = " + sigma + " (log-likelihood; half-decade bins, less likely to the left)",
                        "share of the group's tokens");
  *out +=
      "<p class=\"note\">GM-LS = ln Φ(−Δ / (√2 σ)) of each token; −∞ (leftmost): a token honest noise "
      "cannot explain at this σ.</p>";
}

void section_strata(std::string* out, const json& s) {
  *out += "<h2>Strata</h2>";
  const json& strata = get(s, "strata");
  if (!strata.is_array() || strata.empty()) {
    *out += "<p class=\"note\">No strata (no message was read).</p>";
  } else {
    *out += "<table>" + header_row({"model", "server", "window start", "messages", "scored", "unverifiable", "flagged",
                                    "tokens", "exact", "safe", "suspicious", "dangerous"});
    for (const json& st : strata) {
      const json& tiers = get(st, "tiers");
      *out += "<tr>" + td(show(get(st, "model"))) + td(show(get(st, "server"))) + td(show(get(st, "window_start")));
      for (const char* k : {"messages", "scored", "unverifiable", "flagged", "tokens", "exact"})
        *out += td(show(get(st, k)), true);
      for (const char* k : {"safe", "suspicious", "dangerous"}) *out += td(show(get(tiers, k)), true);
      *out += "</tr>";
    }
    *out += "</table>";
  }
  const json& mal = get(get(s, "bounds"), "malicious_strata");
  if (mal.is_array() && !mal.empty()) {
    *out += "<h3>Malicious share per stratum</h3><table>" +
            header_row({"stratum", "flagged", "sampled", "malicious share, upper bound", "catch probability"});
    for (const json& m : mal) {
      *out += "<tr>" + td(show(get(m, "key"))) + td(show(get(m, "flagged")), true) + td(show(get(m, "sampled")), true) +
              td(percent(number(get(m, "malicious_fraction_upper"))), true) +
              td(real(number(get(m, "catch_probability"))), true) + "</tr>";
    }
    *out += "</table>";
  }
}

std::string token_strip(const MessageResult& r) {
  const std::size_t n = std::min({r.tokens.size(), r.tokens.tier.size(), r.tokens.margin.size()});
  const std::size_t shown = std::min(n, kMaxStripTokens);
  std::string s = "<div class=\"strip\">";
  for (std::size_t t = 0; t < shown; ++t) {
    const std::uint8_t tier = r.tokens.tier[t];
    const char* name = tier == static_cast<std::uint8_t>(TokenTier::kSafe)         ? "safe"
                       : tier == static_cast<std::uint8_t>(TokenTier::kSuspicious) ? "suspicious"
                                                                                   : "dangerous";
    std::string title = fmt::format("token {}: margin {}, {}", t, real(r.tokens.margin[t]), name);
    if (t < r.tokens.gumbel_rank.size() && r.tokens.gumbel_rank[t] >= 0 && std::string(name) != "safe") {
      title += fmt::format(" (Gumbel rank {})", r.tokens.gumbel_rank[t]);
    }
    s += fmt::format(R"(<span class="{}" title="{}"></span>)", name, html_escape(title));
  }
  s += "</div>";
  if (shown < n) s += fmt::format("<p class=\"note\">First {} of {} tokens shown.</p>", shown, n);
  return s;
}

void section_flagged(std::string* out, const json& s, const std::vector<MessageResult>& results) {
  *out += "<h2>Flagged messages</h2>";
  const json& flagged = get(s, "flagged_messages");
  if (!flagged.is_array() || flagged.empty()) {
    *out += "<p>No flagged messages.</p>";
    return;
  }
  *out += "<table>" + header_row({"shard", "row", "message id", "server", "model", "reasons"});
  for (std::size_t k = 0; k < std::min(flagged.size(), kMaxFlaggedRows); ++k) {
    const json& m = flagged[k];
    *out += "<tr>" + td(show(get(m, "shard")), true) + td(show(get(m, "row")), true) +
            td(show(get(m, "message_id")), true) + td(show(get(m, "server"))) + td(show(get(m, "model"))) +
            td(show(get(m, "reasons"))) + "</tr>";
  }
  *out += "</table>";
  if (flagged.size() > kMaxFlaggedRows) {
    *out += fmt::format("<p class=\"note\">{} more flagged messages left out (summary.json lists all).</p>",
                        grouped(flagged.size() - kMaxFlaggedRows));
  }
  std::multimap<std::uint64_t, const MessageResult*> by_id;
  for (const MessageResult& r : results) {
    if (r.status == MessageStatus::kScored) by_id.emplace(r.message_id, &r);
  }
  *out +=
      "<h3>Per-token strips</h3><p class=\"key\">One cell per output token:<span class=\"safe\"></span>safe"
      "<span class=\"suspicious\"></span>suspicious<span class=\"dangerous\"></span>dangerous "
      "(hover a cell for its position, margin and class).</p>";
  for (std::size_t k = 0; k < std::min(flagged.size(), kMaxStrips); ++k) {
    const json& m = flagged[k];
    const std::uint64_t id = unsigned_or(get(m, "message_id"), ~std::uint64_t{0});
    const MessageResult* found = nullptr;
    for (auto [it, end] = by_id.equal_range(id); it != end; ++it) {  // ids are unique per archive; prefer the same row
      if (!found || (it->second->ref.shard == unsigned_or(get(m, "shard"), 0) &&
                     it->second->ref.row == unsigned_or(get(m, "row"), 0))) {
        found = it->second;
      }
    }
    *out += fmt::format("<div class=\"strip-head\">message {} (shard {}, row {}, server {}): {}</div>",
                        show(get(m, "message_id")), show(get(m, "shard")), show(get(m, "row")), show(get(m, "server")),
                        show(get(m, "reasons")));
    *out += found ? token_strip(*found) : "<p class=\"note\">Per-token scores not in this report.</p>";
  }
  if (flagged.size() > kMaxStrips) {
    *out += fmt::format("<p class=\"note\">{} more flagged messages left out of the strips.</p>",
                        grouped(flagged.size() - kMaxStrips));
  }
}

void section_unverifiable(std::string* out, const json& s) {
  *out += "<h2>Unverifiable messages and quarantined shards</h2>";
  const json& u = get(s, "unverifiable_messages");
  if (!u.is_array() || u.empty()) {
    *out += "<p>No unverifiable messages.</p>";
  } else {
    *out += "<table>" + header_row({"shard", "row", "message id", "reason"});
    for (std::size_t k = 0; k < std::min(u.size(), kMaxUnverifiable); ++k) {
      *out += "<tr>" + td(show(get(u[k], "shard")), true) + td(show(get(u[k], "row")), true) +
              td(show(get(u[k], "message_id")), true) + td(show(get(u[k], "reason"))) + "</tr>";
    }
    *out += "</table>";
    if (u.size() > kMaxUnverifiable) {
      *out += fmt::format("<p class=\"note\">{} more unverifiable messages left out (summary.json lists all).</p>",
                          grouped(u.size() - kMaxUnverifiable));
    }
  }
  const json& q = get(s, "quarantined_shards");
  if (!q.is_array() || q.empty()) {
    *out += "<p>No quarantined shards.</p>";
    return;
  }
  *out += "<table>" + header_row({"shard", "file", "reason", "sampled messages"});
  for (const json& e : q) {
    *out += "<tr>" + td(show(get(e, "shard")), true) + td("<code>" + show(get(e, "file")) + "</code>") +
            td(show(get(e, "reason"))) + td(show(get(e, "sampled_messages")), true) + "</tr>";
  }
  *out += "</table>";
}

void section_timing(std::string* out, const json& s) {
  *out += "<h2>Timing</h2>";
  const json& timing = get(s, "timing");
  if (!timing.is_object() || timing.empty()) {
    *out += "<p class=\"note\">No timing in this summary.</p>";
    return;
  }
  *out += "<table class=\"kv\">";
  for (const auto& [key, value] : timing.items()) {
    std::string label = key;
    std::replace(label.begin(), label.end(), '_', ' ');
    const bool seconds = key.size() > 8 && key.compare(key.size() - 8, 8, "_seconds") == 0;
    *out += kv(html_escape(label), seconds                      ? real(number(value)) + " s"
                                   : key == "group_utilisation" ? percent(number(value))
                                                                : show(value));
  }
  *out += "</table>";
}
}  // namespace

void write_audit_html(const std::string& path, const nlohmann::json& summary, const std::vector<MessageResult>& results,
                      const std::vector<std::string>& flag_reasons) {
  const bool calibration = summary.is_object() && summary.contains("calibration");
  std::string html = fmt::format(kHead, calibration ? "fssl calibration report" : "fssl audit report");
  section_header(&html, summary, calibration);
  section_totals(&html, summary);
  section_bounds(&html, summary);
  if (calibration) section_calibration(&html, summary);
  section_histograms(&html, summary, results, flag_reasons);
  section_strata(&html, summary);
  section_flagged(&html, summary, results);
  section_unverifiable(&html, summary);
  section_timing(&html, summary);
  html += "<p class=\"note\">Written by fssl from summary.json";
  html += results.empty() ? "" : " and the run's per-token results";
  html += ". This page is self-contained: no script, no external resource.</p></body></html>\n";

  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    FSSL_CHECK(f.is_open(), ArchiveError, "{}: cannot open for writing: {}", tmp, std::strerror(errno));
    f << html;
    f.close();
    FSSL_CHECK(!f.fail(), ArchiveError, "{}: cannot write: {}", tmp, std::strerror(errno));
  }
  FSSL_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, ArchiveError, "{}: cannot rename {} into place: {}", path,
             tmp, std::strerror(errno));
}

}  // namespace fssl
