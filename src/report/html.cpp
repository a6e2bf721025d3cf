// report.html of an audit or calibration run (report/html.h): summary.json's sections as tables,
// the frontier and the honest-vs-flagged histograms as inline SVG (report/html_svg.h), and a
// per-token strip of each flagged message. Every member is optional (an incomplete run lacks
// some); every string from the data is escaped.
#include "report/html.h"

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
#include "fssl/file.h"
#include "fssl/scoring_types.h"

namespace fssl {
namespace {

using namespace html;  // NOLINT: the page's helpers, private to these files

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
  const json& alarm = get(get(s, "verdict"), "alarm");
  if (alarm.is_object()) *out += kv("alarm rule", "<span id=\"alarm\">" + show(get(alarm, "statement")) + "</span>");
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
  const json& alarm = get(verdict, "alarm");
  if (alarm.is_object()) {
    const json& cfg = get(get(s, "config"), "alarm");
    *out += kv("flag a message at", "evidence (the sum of its token margins) over the calibrated threshold (" +
                                        show(get(cfg, "gumbel_threshold")) + " Gumbel-max, " +
                                        show(get(cfg, "ipt_threshold")) + " inverse-CDF), or a token no benign noise "
                                        "explains");
    *out += kv("alarm when", "the flagged count exceeds what honest traffic flags at p0 &le; " +
                                 percent(number(get(alarm, "p0_upper"))) + " with probability " +
                                 percent(number(get(alarm, "alpha"))) + " per audit; strata: " +
                                 show(get(alarm, "multiplicity")) +
                                 "; tampered records and impossible tokens alarm regardless");
    *out += kv("decision", show(get(alarm, "statement")));
    const json& power = get(alarm, "power");
    if (power.is_object()) {
      *out += kv("power", "an adversary like " + show(get(power, "adversary")) + " (messages flagged " +
                              percent(number(get(power, "detection_rate"))) + ") on " +
                              (get(power, "min_share_detected_99").is_null()
                                   ? std::string("any share is not reliably detected at this audit size")
                                   : percent(number(get(power, "min_share_detected_99"))) +
                                         " of the traffic or more alarms this audit with probability &ge; 99 %"));
    }
  } else {
    *out += kv("flag a message at", show(get(policy, "dangerous_tokens")) + " dangerous token(s), or more than " +
                                        percent(number(get(policy, "suspicious_fraction"))) + " of its tokens not safe");
    *out += kv("flagged messages allowed", show(get(policy, "max_flagged_messages")));
    *out += kv("flagged share allowed", percent(number(get(policy, "max_flagged_fraction"))));
  }
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
    const json& m = get(c, "message");
    if (m.is_object()) {
      const bool certified = get(m, "certified") == true;
      *out += fmt::format(
          "<p>Message threshold: flag a message whose evidence (the sum of its token margins) exceeds <span "
          "id=\"message-threshold-{}\">{}</span>; {} of {} honest messages exceed it; honest flag rate &le; {} "
          "({}% confidence), target {}%: {}</p>",
          key, real(number(get(m, "threshold"))), show(get(m, "exceeding")), show(get(m, "messages")),
          percent(number(get(m, "p0_upper"))), real(100 * number(get(m, "confidence"))),
          real(number(get(m, "target_percent"))),
          certified ? std::string("<span class=\"ok\">certified</span>")
                    : "<span class=\"bad\">not certified</span>: calibrate on at least " +
                          show(get(m, "messages_needed")) + " honest messages (rule of three)");
    }
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

  write_file_atomic(path, html);
}

}  // namespace fssl
