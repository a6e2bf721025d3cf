// The report's last stages (stages.h): summary.json's object, the files, the human block, and
// report_audit, which runs every stage in order (report.h).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

#include "fssl/error.h"
#include "fssl/file.h"
#include "fssl/version.h"
#include "report/html.h"
#include "report/results_h5.h"
#include "report/stages.h"

namespace fssl {
namespace {

using nlohmann::json;

json stats_json(const AuditStats& s, const std::vector<double>& grid, const char* margin_unit) {
  json over = json::array(), allowed = json::array();
  for (std::size_t j = 0; j < grid.size(); ++j) {
    over.push_back({{"threshold", grid[j]}, {"tokens", s.margin_over[j]}});
    allowed.push_back({{"threshold", grid[j]}, {"bits", s.allowed_bits(j)}});
  }
  json edges = json::array();
  for (double e : s.margin_edges()) edges.push_back(std::isinf(e) ? json("inf") : json(e));
  return {{"messages", s.messages}, {"messages_with_nonsafe_tokens", s.flagged_messages}, {"tokens", s.tokens},
          {"exact", s.exact},
          {"exact_rate", s.tokens ? static_cast<double>(s.exact) / static_cast<double>(s.tokens) : 0.0},
          {"tiers", {{"safe", s.tiers[0]}, {"suspicious", s.tiers[1]}, {"dangerous", s.tiers[2]}}},
          {"charged_bits", s.charged_bits()}, {"allowed_bits", allowed}, {"margin_unit", margin_unit},
          {"margin_over", over}, {"margin_histogram", {{"upper_edges", edges}, {"tokens", s.margin_histogram}}}};
}

json tiers_json(const std::array<std::int64_t, 3>& tiers) {
  return {{"safe", tiers[0]}, {"suspicious", tiers[1]}, {"dangerous", tiers[2]}};
}

json strata_json(const AuditTally& t) {
  json out = json::array();
  for (const auto& [key, c] : t.strata) {
    const auto& [model, server, window] = key;
    out.push_back({{"model", model}, {"server", server}, {"window_start", utc_time(window * t.window_us)},
                   {"messages", c.messages}, {"scored", c.scored}, {"unverifiable", c.unverifiable},
                   {"flagged", c.flagged}, {"tokens", c.tokens}, {"exact", c.exact}, {"tiers", tiers_json(c.tiers)}});
  }
  return out;
}

json quarantined_json(const AuditOutcome& out, const AuditTally& t) {
  json q = json::array();
  for (const auto& [shard, entry] : t.quarantined) {
    const std::string file = shard < out.shard_files.size() ? out.shard_files[shard] : "";
    q.push_back({{"shard", shard}, {"file", file}, {"reason", entry.first}, {"sampled_messages", entry.second}});
  }
  return q;
}

// Throughput of this run's work over the serving phase.
double serve_rate(const AuditOutcome& out, std::uint64_t tokens) {
  return out.serve_seconds > 0 ? static_cast<double>(tokens) / out.serve_seconds : 0.0;
}

// The share of the groups' time spent on batches (read, broadcast, replay, score): 1 - it is
// the coordinator's and the network's overhead as the groups see it.
double group_utilisation(const AuditOutcome& out) {
  return out.serve_seconds > 0 && out.n_groups > 0 ? out.replay_seconds / (out.serve_seconds * out.n_groups) : 0.0;
}

json timing_json(const AuditOutcome& out) {
  return {{"wall_seconds", out.wall_seconds}, {"serve_seconds", out.serve_seconds},
          {"group_busy_seconds", out.replay_seconds}, {"groups", out.n_groups},
          {"output_tokens_verified", out.output_tokens_run},
          {"verified_tokens_per_second", serve_rate(out, out.output_tokens_run)},
          {"processed_tokens_per_second", serve_rate(out, out.processed_tokens_run)},
          {"group_utilisation", group_utilisation(out)}};
}

}  // namespace

json report_summary(const AuditOptions& o, const AuditOutcome& out, const AuditTally& t, const Verdict& v,
                    const BoundsReport& bounds, int code) {
  json plan_strata = json::array();
  for (const auto& ps : out.plan_strata) {
    plan_strata.push_back({{"key", ps.key}, {"population", ps.population}, {"planned", ps.planned}});
  }
  return {{"format", "fssl-audit-summary"}, {"version", 1},
          {"status", out.complete ? "complete" : "incomplete"}, {"exit_code", code},
          {"stop_reason", out.complete ? json(nullptr) : json(out.stop_reason)},
          {"config", to_json(o)},
          {"archive", {{"digest", out.archive_digest}}},
          {"model", {{"fingerprint", out.model_fingerprint}}},
          {"plan", {{"archive_messages", out.archive_messages}, {"population", out.population},
                    {"planned", out.planned}, {"batches", out.batches_total}, {"strata", plan_strata}}},
          {"totals", {{"planned", out.planned}, {"done", out.results.size()}, {"scored", t.n_scored},
                      {"unverifiable", t.n_unverifiable}, {"quarantined", t.n_quarantined}, {"flagged", t.n_flagged}}},
          {"gumbel_max", stats_json(t.gumbel, o.score.margin_grid, "logits")},
          {"inverse_cdf", stats_json(t.ipt, o.ipt.distance_grid, "probability")},
          {"strata", strata_json(t)},
          {"bounds", bounds.json},
          {"verdict", {{"within_policy", out.complete && v.findings.empty()}, {"findings", v.findings},
                       {"alarm", v.alarm}}},
          {"flagged_messages", t.flagged},
          {"unverifiable_messages", t.unverifiable},
          {"quarantined_shards", quarantined_json(out, t)},
          {"run", {{"fssl_version", kVersionString}, {"git_sha", kGitSha}, {"tp_size", o.tp_size},
                   {"resumed_batches", out.batches_resumed}, {"part", {o.part_index, o.part_count}},
                   {"part_batches", {out.part_batches.first, out.part_batches.second}}}},
          {"timing", timing_json(out)}};
}

void report_write_files(const AuditOptions& o, const AuditOutcome& out, const json& summary, const AuditTally& t) {
  write_file_atomic(o.run_dir + "/summary.json", summary.dump(2) + "\n");
  write_audit_html(o.run_dir + "/report.html", summary, out.results, t.flags);
  if (!out.complete) return;
  ResultsFileInfo info{o.archive_dir, out.archive_digest, o.model_dir, out.model_fingerprint, summary["config"].dump(),
                       o.seed, o.score.sigmas, o.score.margin_grid, o.ipt.sigmas, o.ipt.distance_grid};
  write_results_h5(o.run_dir + "/results.h5", out.results, t.flags, info);
}

void report_print_block(const AuditOptions& o, const AuditOutcome& out, const AuditTally& t, const Verdict& v,
                        const BoundsReport& bounds, int exit_code) {
  const std::int64_t tokens = t.gumbel.tokens + t.ipt.tokens;
  const double exact_rate = tokens ? static_cast<double>(t.gumbel.exact + t.ipt.exact) / static_cast<double>(tokens) : 0.0;
  fmt::print("#\n# fssl audit summary ({})\n", out.complete ? "complete" : "incomplete");
  fmt::print("#   messages planned  {:>10} of {} passing the filters ({} in the archive)\n", out.planned,
             out.population, out.archive_messages);
  fmt::print("#   messages scored   {:>10}, {} tokens, exact-match rate {:.4f}\n", t.n_scored, tokens, exact_rate);
  fmt::print("#   tokens safe/suspicious/dangerous {} / {} / {}; bits charged {:.1f}\n",
             t.gumbel.tiers[0] + t.ipt.tiers[0], t.gumbel.tiers[1] + t.ipt.tiers[1],
             t.gumbel.tiers[2] + t.ipt.tiers[2], t.gumbel.charged_bits() + t.ipt.charged_bits());
  for (const auto& [text, ok] : v.lines) fmt::print("#   {:<62} {}\n", text, ok ? "OK" : "FAILED");
  for (const std::string& s : bounds.statements) fmt::print("#   {}\n", s);
  if (!out.complete) {
    fmt::print("#   {:<62} {}\n", "incomplete: " + out.stop_reason, "FAILED");
    fmt::print("#   the journal keeps the finished work: rerun the same command to resume\n");
  }
  fmt::print("#   {:.1f} s serving: {:.0f} verified output tok/s ({:.0f} tok/s with prompts), groups busy {:.0f}%\n",
             out.serve_seconds, serve_rate(out, out.output_tokens_run), serve_rate(out, out.processed_tokens_run),
             100.0 * group_utilisation(out));
  const char* verdict = exit_code == kExitIncomplete ? "incomplete (exit 4)"
                        : o.calibration ? (exit_code == kExitOk ? "calibrated" : "no operating point meets the target")
                        : exit_code == kExitOk ? "within policy"
                                               : "findings over policy";
  fmt::print("# {}; report: {}/report.html, {}/summary.json{}\n", verdict, o.run_dir, o.run_dir,
             out.complete ? ", " + o.run_dir + "/results.h5" : "");
  std::fflush(stdout);
}

int report_audit(const AuditOptions& o, const AuditOutcome& out) {
  const AuditTally tally = report_tally(o, out);
  Verdict verdict = report_judge(o, out, tally);
  const BoundsReport bounds = report_bounds(o, out, tally);
  verdict.lines.insert(verdict.lines.end(), bounds.lines.begin(), bounds.lines.end());
  verdict.findings.insert(verdict.findings.end(), bounds.findings.begin(), bounds.findings.end());
  const int code = !out.complete ? kExitIncomplete : verdict.findings.empty() ? kExitOk : kExitFindings;
  json summary = report_summary(o, out, tally, verdict, bounds, code);
  if (!o.alarm.truth_file.empty() && out.complete) {
    summary["detection"] = truth_detection(o, out, tally);
    const json& d = summary["detection"];
    fmt::print("# ground truth ({}): {} of {} adversarial messages flagged, {} of {} honest\n", o.alarm.truth_file,
               d["adversarial"]["flagged"].get<std::uint64_t>(), d["adversarial"]["scored"].get<std::uint64_t>(),
               d["honest"]["flagged"].get<std::uint64_t>(), d["honest"]["scored"].get<std::uint64_t>());
  }
  int exit_code = code;
  if (o.calibration && out.complete) {
    exit_code = write_calibration(o, out, &summary) ? kExitOk : kExitFindings;
    summary["exit_code"] = exit_code;
  }
  report_write_files(o, out, summary, tally);
  report_print_block(o, out, tally, verdict, bounds, exit_code);
  return exit_code;
}

}  // namespace fssl
