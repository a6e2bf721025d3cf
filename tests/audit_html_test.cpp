// report.html (report/html.h): a hand-built summary renders to one self-contained page (no script,
// no external reference), data strings are escaped, the key numbers are shown as formatted, the
// tags balance under Python's html.parser, and incomplete or empty summaries still render.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/html.h"
#include "fssl/error.h"
#include "test_util.h"

namespace fssl {
namespace {

using nlohmann::json;
constexpr float kInf = std::numeric_limits<float>::infinity();
const char* const kServer = "gpu-<script>&\"7";  // must appear only escaped

// Python's html.parser with a strict stack: every end tag closes the innermost open element.
const char* const kBalanceCheck = R"(import html.parser, sys
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_endtag(self, tag):
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-3:]))
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
if p.stack:
    p.errors.append("unclosed: %s" % p.stack)
print("\n".join(p.errors[:10]) or "balanced")
sys.exit(1 if p.errors else 0)
)";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Runs the balance check on `path`; returns its output, `ok` whether it exited 0.
std::string check_balanced(const test::TempDir& dir, const std::string& path, bool* ok) {
  const std::string script = dir / "balance.py";
  std::ofstream(script) << kBalanceCheck;
  FILE* p = ::popen(("/usr/bin/python3 " + script + " " + path + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p)) out += buf;
  *ok = ::pclose(p) == 0;
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void expect_self_contained(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
}

json calibration_point(double threshold, int r, double fpr, double info, bool frontier) {
  return {{"threshold", threshold}, {"rank_cutoff", r}, {"fpr_percent", fpr}, {"info_percent", info},
          {"suspicious_percent", 0.1}, {"kept", true}, {"on_frontier", frontier}};
}

json full_summary() {
  json edges = {0.0, 0.1, 1.0, 10.0, "inf"};
  return {
      {"status", "complete"}, {"exit_code", 3}, {"stop_reason", nullptr},
      {"archive", {{"digest", std::string(64, 'e')}}}, {"model", {{"fingerprint", std::string(64, 'f')}}},
      {"config", {{"archive", "/data/arch<1>"}, {"model", "/models/m"}, {"seed", 11}, {"sample_size", 1234},
                  {"fraction", 0.0}, {"stratify", "server"}, {"dtype", "fp32"},
                  {"score", {{"margin_threshold", 1.0}, {"rank_cutoff", 32}, {"sigmas", {0.01, 0.1}}}},
                  {"policy", {{"dangerous_tokens", 1}, {"suspicious_fraction", 0.25}, {"max_flagged_messages", 0}}}}},
      {"totals", {{"planned", 1300}, {"done", 1300}, {"scored", 1234}, {"unverifiable", 66}, {"quarantined", 0},
                  {"flagged", 1}}},
      {"gumbel_max", {{"messages", 1234}, {"tokens", 40000}, {"exact", 39000}, {"exact_rate", 0.975},
                      {"tiers", {{"safe", 39900}, {"suspicious", 90}, {"dangerous", 10}}}, {"charged_bits", 5000.5},
                      {"margin_histogram", {{"upper_edges", edges}, {"tokens", {39000, 500, 400, 90, 10}}}}}},
      {"inverse_cdf", {{"tokens", 0}}},
      {"bounds", {{"confidence", 0.95},
                  {"statements", {"0 of 40000 scored tokens are dangerous, said <plainly>."}},
                  {"token_fpr", {{"dangerous_tokens", 10}, {"tokens", 40000}, {"rate", 0.00025}, {"lower", 0.00012},
                                 {"upper", 0.0005762213353895955}}},
                  {"information", {{"info_percent", 10.78}, {"info_percent_upper", 12.155612414472122}}},
                  {"malicious", {{"flagged", 1}, {"sampled", 1234}, {"malicious_fraction_upper", 0.0038},
                                 {"catch_probability", 0.9999}, {"detect_fraction", 0.01}}},
                  {"malicious_strata", {{{"key", std::string("m / ") + kServer}, {"flagged", 1}, {"sampled", 600},
                                         {"malicious_fraction_upper", 0.0079}, {"catch_probability", 0.997}}}}}},
      {"verdict", {{"within_policy", false}, {"findings", {"1 flagged message(s), policy allows 0"}}}},
      {"strata", {{{"model", "m"}, {"server", kServer}, {"window_start", "2025-11-26T00:00:00Z"}, {"messages", 600},
                   {"scored", 600}, {"unverifiable", 0}, {"flagged", 1}, {"tokens", 20000}, {"exact", 19500},
                   {"tiers", {{"safe", 19950}, {"suspicious", 45}, {"dangerous", 5}}}},
                  {{"model", "m"}, {"server", "gpu-2"}, {"window_start", "2025-11-26T00:00:00Z"}, {"messages", 700},
                   {"scored", 634}, {"unverifiable", 66}, {"flagged", 0}, {"tokens", 20000}, {"exact", 19500},
                   {"tiers", {{"safe", 19950}, {"suspicious", 45}, {"dangerous", 5}}}}}},
      {"flagged_messages", {{{"shard", 3}, {"row", 17}, {"message_id", 4242}, {"server", kServer}, {"model", "m"},
                             {"reasons", "2 dangerous token(s) <beyond>"}}}},
      {"unverifiable_messages", {{{"shard", 1}, {"row", 2}, {"message_id", 9}, {"reason", "digest mismatch & co"}}}},
      {"quarantined_shards", json::array()},
      {"calibration",
       {{"gumbel_max", {{"tokens", 40000}, {"log2_vocab", 9.0},
                        {"points", {calibration_point(0.1, 1, 0.0, 0.7307853, true),
                                    calibration_point(0.05, 4, 0.02083, 0.4709, true),
                                    calibration_point(0.0, 8, 0.5625, 0.6134, false)}},
                        {"operating_point", calibration_point(0.1, 1, 0.0, 0.7307853, true)}}},
        {"inverse_cdf",
         {{"tokens", 0}, {"log2_vocab", 9.0}, {"points", json::array()}, {"operating_point", nullptr}}}}},
      {"run", {{"fssl_version", "0.1.0"}, {"git_sha", "abc"}, {"tp_size", 2}, {"resumed_batches", 0}}},
      {"timing", {{"wall_seconds", 12.5}, {"verified_tokens_per_second", 11150.94}, {"group_utilisation", 0.85}}}};
}

MessageResult scored(std::uint64_t id, std::uint32_t shard, std::uint64_t row, std::vector<std::uint8_t> tiers,
                     std::vector<float> margins) {
  MessageResult r;
  r.ref = {shard, row};
  r.message_id = id;
  r.server = kServer;
  r.tokens.tier = std::move(tiers);
  r.tokens.margin = std::move(margins);
  r.tokens.exact.assign(r.tokens.tier.size(), 0);
  r.tokens.gumbel_rank.assign(r.tokens.tier.size(), 40);
  for (float m : r.tokens.margin) {  // two sigmas per token; GM-LS -inf for the largest margin
    r.tokens.likelihood.push_back(m > 5 ? -kInf : -0.6931f - m * m * 100);
    r.tokens.likelihood.push_back(-0.6931f);
  }
  return r;
}

TEST(AuditHtml, WritesSelfContainedEscapedReport) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  std::vector<MessageResult> results = {scored(7, 3, 16, {0, 0, 0, 0}, {0.0f, 0.0f, 0.05f, 0.0f}),
                                        scored(4242, 3, 17, {0, 1, 2, 2, 0}, {0.0f, 1.5f, 3.0f, 7.5f, 0.2f})};
  write_audit_html(path, full_summary(), results, {"", "2 dangerous token(s)"});
  const std::string html = read_file(path);
  ASSERT_FALSE(html.empty());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  expect_self_contained(html);
  EXPECT_EQ(html.find("<script>&"), std::string::npos);
  EXPECT_NE(html.find("gpu-&lt;script&gt;&amp;&quot;7"), std::string::npos);
  EXPECT_NE(html.find("/data/arch&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("said &lt;plainly&gt;."), std::string::npos);
  EXPECT_NE(html.find("digest mismatch &amp; co"), std::string::npos);
  EXPECT_NE(html.find("fssl calibration report"), std::string::npos);
  EXPECT_NE(html.find("id=\"totals-scored\">1,234<"), std::string::npos);
  EXPECT_NE(html.find("id=\"totals-flagged\">1<"), std::string::npos);
  EXPECT_NE(html.find("<span id=\"token-fpr-upper\">0.05762%</span>"), std::string::npos);
  EXPECT_NE(html.find("12.16%"), std::string::npos);
  EXPECT_NE(html.find("findings over policy"), std::string::npos);
  EXPECT_NE(html.find("1 flagged message(s), policy allows 0"), std::string::npos);
  EXPECT_NE(html.find(">threshold 0.1, rank cutoff 1: FPR 0%, Info 0.7308%<"), std::string::npos);
  EXPECT_NE(html.find("(FPR 0)"), std::string::npos);  // the zero-FPR lane of the log axis
  EXPECT_NE(html.find("operating point"), std::string::npos);
  EXPECT_EQ(html.find("inverse-CDF (distance"), std::string::npos);  // no inverse-CDF points: no chart
  // Charts: the frontier, the margin and GM-LS histograms; honest 4 and flagged 5 tokens.
  EXPECT_EQ(count(html, "<svg"), 3u);
  EXPECT_NE(html.find("honest (4 tokens)"), std::string::npos);
  EXPECT_NE(html.find("flagged (5 tokens)"), std::string::npos);
  EXPECT_NE(html.find("GM-LS = −∞"), std::string::npos);
  EXPECT_NE(html.find("margin threshold 1"), std::string::npos);
  // The flagged message's strip: one cell per token, classes by tier, position and margin in the title.
  EXPECT_NE(html.find(R"(<span class="safe" title="token 0: margin 0, safe"></span>)"), std::string::npos);
  EXPECT_NE(html.find(R"x(<span class="dangerous" title="token 3: margin 7.5, dangerous (Gumbel rank 40)"></span>)x"),
            std::string::npos);
  EXPECT_EQ(html.find("margin 0.05"), std::string::npos);  // message 7 is not flagged: no strip
  EXPECT_NE(html.find("<td>11,151</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>12.5 s</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>85%</td>"), std::string::npos);
  bool ok = false;
  const std::string out = check_balanced(dir, path, &ok);
  EXPECT_TRUE(ok) << out;
}

TEST(AuditHtml, IncompleteRunWithoutCalibration) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  const json summary = {{"status", "incomplete"}, {"exit_code", 4}, {"stop_reason", "SIGUSR1"},
                        {"totals", {{"planned", 200}, {"done", 40}, {"scored", 40}, {"flagged", 0}}},
                        {"gumbel_max", {{"tokens", 0}}},
                        {"verdict", {{"within_policy", false}, {"findings", json::array()}}},
                        {"flagged_messages", json::array()}, {"strata", json::array()}};
  write_audit_html(path, summary, {}, {});
  const std::string html = read_file(path);
  expect_self_contained(html);
  EXPECT_NE(html.find("fssl audit report"), std::string::npos);
  EXPECT_EQ(html.find("calibration report"), std::string::npos);
  EXPECT_EQ(html.find("Calibration:"), std::string::npos);
  EXPECT_NE(html.find("incomplete: no verdict"), std::string::npos);
  EXPECT_NE(html.find("stopped, SIGUSR1"), std::string::npos);
  EXPECT_NE(html.find("id=\"totals-scored\">40<"), std::string::npos);
  EXPECT_NE(html.find("No bounds in this summary"), std::string::npos);
  EXPECT_NE(html.find("No Gumbel-max token was scored"), std::string::npos);
  EXPECT_NE(html.find("No flagged messages"), std::string::npos);
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  bool ok = false;
  const std::string out = check_balanced(dir, path, &ok);
  EXPECT_TRUE(ok) << out;
}

TEST(AuditHtml, EmptySummaryAndResultsWithoutScoresRender) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  write_audit_html(path, json::object(), {}, {});
  bool ok = false;
  EXPECT_TRUE((check_balanced(dir, path, &ok), ok));
  // Without per-token results the margin chart falls back to summary.json's histogram.
  json summary = full_summary();
  summary.erase("calibration");
  write_audit_html(path, summary, {}, {});
  const std::string html = read_file(path);
  EXPECT_NE(html.find("all scored tokens (40,000 tokens)"), std::string::npos);
  EXPECT_NE(html.find("Per-token scores not in this report"), std::string::npos);
  EXPECT_NE(html.find("fssl audit report"), std::string::npos);
  expect_self_contained(html);
  EXPECT_TRUE((check_balanced(dir, path, &ok), ok));
}

TEST(AuditHtml, CapsFlaggedStripsAndUnverifiableRows) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  json summary = full_summary();
  std::vector<MessageResult> results;
  std::vector<std::string> reasons;
  summary["flagged_messages"] = json::array();
  summary["unverifiable_messages"] = json::array();
  for (std::uint64_t i = 0; i < 60; ++i) {
    summary["flagged_messages"].push_back({{"shard", 0}, {"row", i}, {"message_id", 100 + i}, {"server", "s"},
                                           {"model", "m"}, {"reasons", "r"}});
    results.push_back(scored(100 + i, 0, i, {2}, {9.0f}));
    reasons.push_back("r");
  }
  for (std::uint64_t i = 0; i < 205; ++i) {
    summary["unverifiable_messages"].push_back({{"shard", 1}, {"row", i}, {"message_id", 1000 + i}, {"reason", "x"}});
  }
  write_audit_html(path, summary, results, reasons);
  const std::string html = read_file(path);
  EXPECT_EQ(count(html, "class=\"strip\""), 50u);
  EXPECT_NE(html.find("10 more flagged messages left out of the strips"), std::string::npos);
  EXPECT_NE(html.find("5 more unverifiable messages left out"), std::string::npos);
  bool ok = false;
  const std::string out = check_balanced(dir, path, &ok);
  EXPECT_TRUE(ok) << out;
}

TEST(AuditHtml, ReplacesAtomicallyAndThrowsArchiveErrorOnIoFailure) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  std::ofstream(path) << "old";
  write_audit_html(path, full_summary(), {}, {});
  EXPECT_NE(read_file(path).find("fssl calibration report"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_THROW(write_audit_html(dir / "missing/report.html", full_summary(), {}, {}), ArchiveError);
  try {
    write_audit_html(dir / "missing/report.html", full_summary(), {}, {});
  } catch (const ArchiveError& e) {
    EXPECT_NE(std::string(e.what()).find("missing/report.html"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fssl
