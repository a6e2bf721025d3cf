// The message sections of report.html (report/html_page.h): honest-vs-flagged histograms, strata,
// flagged messages with their per-token strips, unverifiable messages, timing.
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
namespace {

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

}  // namespace


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

}  // namespace fssl::html
