// The audit's report (audit_internal.h): flags under the policy, totals and per-stratum
// statistics, summary.json, results.h5, and the human block on stdout. Everything but the "run"
// and "timing" members of summary.json is a function of the results alone, which are a function
// of (archive, config, audit seed): two runs of one audit, resumed or not, on any number of
// ranks, write the same summary.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <tuple>

#include "audit_bounds.h"
#include "audit_html.h"
#include "audit_internal.h"
#include "fssl/audit_results.h"
#include "fssl/error.h"
#include "fssl/version.h"

namespace fssl {
namespace {

using nlohmann::json;

std::string utc_time(std::int64_t us) {
  const std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

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

struct StratumCounts {
  std::int64_t messages = 0, scored = 0, unverifiable = 0, flagged = 0, tokens = 0, exact = 0;
  std::array<std::int64_t, 3> tiers{};
};

struct Verdict {
  std::vector<std::string> findings;  // empty: within policy
  std::vector<std::pair<std::string, bool>> lines;  // human block: text, ok
};

}  // namespace

std::string flag_reasons(const MessageResult& r, const AuditPolicy& policy) {
  if (r.status != MessageStatus::kScored || r.tokens.size() == 0) return "";
  std::int64_t dangerous = 0, nonsafe = 0;
  for (std::uint8_t t : r.tokens.tier) {
    dangerous += t == static_cast<std::uint8_t>(TokenTier::kDangerous) ? 1 : 0;
    nonsafe += t != static_cast<std::uint8_t>(TokenTier::kSafe) ? 1 : 0;
  }
  std::string reasons;
  if (dangerous >= policy.dangerous_tokens) {
    reasons = fmt::format("{} dangerous token(s) (beyond the margin threshold and the rank cutoff)", dangerous);
  }
  const double share = static_cast<double>(nonsafe) / static_cast<double>(r.tokens.size());
  if (share > policy.suspicious_fraction) {
    if (!reasons.empty()) reasons += "; ";
    reasons += fmt::format("{} of {} tokens not safe ({:.1f}% > {:.1f}%)", nonsafe, r.tokens.size(), 100 * share,
                           100 * policy.suspicious_fraction);
  }
  return reasons;
}

int write_audit_report(const AuditOptions& o, const AuditOutcome& out) {
  ScoreConfig ipt_as_score;  // IPT distances on the statistics' grid
  ipt_as_score.margin_grid = o.ipt.distance_grid;
  AuditStats gumbel(o.score), ipt(ipt_as_score);
  std::map<std::tuple<std::string, std::string, std::int64_t>, StratumCounts> strata;
  std::vector<std::string> flags(out.results.size());
  json flagged = json::array(), unverifiable = json::array();
  std::map<std::uint32_t, std::pair<std::string, std::int64_t>> quarantined;  // shard -> reason, messages
  std::uint64_t n_scored = 0, n_unverifiable = 0, n_quarantined = 0, n_flagged = 0;
  const auto window_us = static_cast<std::int64_t>(o.window_hours * 3600e6);
  BoundsInput bounds_in;
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    const MessageResult& r = out.results[i];
    if (r.status == MessageStatus::kQuarantined) {  // never read: no model, server or time to stratify by
      ++n_quarantined;
      auto& q = quarantined[r.ref.shard];
      if (q.first.empty()) q.first = r.reason;
      ++q.second;
      continue;
    }
    StratumCounts& c = strata[{r.model, r.server, r.timestamp_us / std::max<std::int64_t>(window_us, 1)}];
    ++c.messages;
    if (r.status == MessageStatus::kUnverifiable) {
      ++n_unverifiable;
      ++c.unverifiable;
      unverifiable.push_back({{"shard", r.ref.shard}, {"row", r.ref.row}, {"message_id", r.message_id}, {"reason", r.reason}});
      continue;
    }
    ++n_scored;
    ++c.scored;
    (r.inverse_cdf ? ipt : gumbel).add_message(r.tokens);
    double bits = 0.0;
    for (double b : r.tokens.bits) bits += b;
    bounds_in.messages.emplace_back(bits, r.tokens.size());
    c.tokens += static_cast<std::int64_t>(r.tokens.size());
    for (std::size_t t = 0; t < r.tokens.size(); ++t) {
      c.exact += r.tokens.exact[t];
      c.tiers[r.tokens.tier[t] < 3 ? r.tokens.tier[t] : 2] += 1;
    }
    flags[i] = flag_reasons(r, o.policy);
    if (!flags[i].empty()) {
      ++n_flagged;
      ++c.flagged;
      flagged.push_back({{"shard", r.ref.shard}, {"row", r.ref.row}, {"message_id", r.message_id},
                         {"server", r.server}, {"model", r.model}, {"reasons", flags[i]}});
    }
  }

  Verdict v;
  const double unverifiable_share = out.planned ? static_cast<double>(n_unverifiable + n_quarantined) / static_cast<double>(out.planned) : 0.0;
  auto line = [&](bool ok, const std::string& text, const std::string& finding) {
    v.lines.emplace_back(text, ok);
    if (!ok) v.findings.push_back(finding);
  };
  line(n_flagged <= o.policy.max_flagged_messages,
       fmt::format("flagged messages   {:>10}   policy <= {}", n_flagged, o.policy.max_flagged_messages),
       fmt::format("{} flagged message(s), policy allows {}", n_flagged, o.policy.max_flagged_messages));
  const double flagged_share = n_scored ? static_cast<double>(n_flagged) / static_cast<double>(n_scored) : 0.0;
  line(flagged_share <= o.policy.max_flagged_fraction,
       fmt::format("flagged share      {:>9.3g}%   policy <= {:g}%", 100 * flagged_share, 100 * o.policy.max_flagged_fraction),
       fmt::format("{:.3g}% of the scored messages flagged", 100 * flagged_share));
  line(unverifiable_share <= o.policy.max_unverifiable_fraction,
       fmt::format("not verifiable     {:>10}   {:.2f}% of sample, policy <= {:.2f}%", n_unverifiable + n_quarantined,
                   100 * unverifiable_share, 100 * o.policy.max_unverifiable_fraction),
       fmt::format("{:.2f}% of the sample unverifiable", 100 * unverifiable_share));
  line(quarantined.empty() || !o.policy.quarantine_is_finding,
       fmt::format("quarantined shards {:>10}   {}", quarantined.size(),
                   o.policy.quarantine_is_finding ? "policy: none" : "policy: allowed"),
       fmt::format("{} shard(s) quarantined", quarantined.size()));
  // Throughput of this run's work over the serving phase; utilisation is the share of the groups'
  // time spent on batches (read, broadcast, replay, score): 1 - utilisation is the coordinator's
  // and the network's overhead as the groups see it.
  auto rate = [&](std::uint64_t tokens) {
    return out.serve_seconds > 0 ? static_cast<double>(tokens) / out.serve_seconds : 0.0;
  };
  const double utilisation =
      out.serve_seconds > 0 && out.n_groups > 0 ? out.replay_seconds / (out.serve_seconds * out.n_groups) : 0.0;
  // Fleet-wide bounds: flagged among scored messages, against the audited population.
  bounds_in.tokens = static_cast<std::uint64_t>(gumbel.tokens + ipt.tokens);
  bounds_in.dangerous = static_cast<std::uint64_t>(gumbel.tiers[2] + ipt.tiers[2]);
  bounds_in.log2_vocab = out.vocab_size > 0 ? std::log2(static_cast<double>(out.vocab_size)) : 0.0;
  bounds_in.population_tokens_estimated = out.filtered;
  bounds_in.population_output_tokens =
      out.filtered ? (n_scored ? static_cast<double>(bounds_in.tokens) / static_cast<double>(n_scored) *
                                     static_cast<double>(out.population)
                               : 0.0)
                   : out.archive_output_tokens;
  bounds_in.secret_bytes = o.bounds.secret_bytes > 0 ? o.bounds.secret_bytes : out.model_bytes;
  bounds_in.fleet = {"", n_flagged, n_scored, out.population};
  for (const auto& [key, sc] : strata) {
    const auto& [model, server, window] = key;
    bounds_in.strata.push_back({model + " / " + server + " / " + utc_time(window * window_us),
                                static_cast<std::uint64_t>(sc.flagged), static_cast<std::uint64_t>(sc.scored), std::nullopt});
  }
  const BoundsReport bounds = audit_bounds(o, bounds_in);
  v.lines.insert(v.lines.end(), bounds.lines.begin(), bounds.lines.end());
  v.findings.insert(v.findings.end(), bounds.findings.begin(), bounds.findings.end());
  const int code = !out.complete ? kExitIncomplete : v.findings.empty() ? kExitOk : kExitFindings;

  json strata_json = json::array();
  for (const auto& [key, c] : strata) {
    const auto& [model, server, window] = key;
    strata_json.push_back({{"model", model}, {"server", server},
                           {"window_start", utc_time(window * window_us)},
                           {"messages", c.messages}, {"scored", c.scored}, {"unverifiable", c.unverifiable},
                           {"flagged", c.flagged}, {"tokens", c.tokens}, {"exact", c.exact},
                           {"tiers", {{"safe", c.tiers[0]}, {"suspicious", c.tiers[1]}, {"dangerous", c.tiers[2]}}}});
  }
  json plan_strata = json::array();
  for (const auto& ps : out.plan_strata) {
    plan_strata.push_back({{"key", ps.key}, {"population", ps.population}, {"planned", ps.planned}});
  }
  json quarantined_json = json::array();
  for (const auto& [shard, q] : quarantined) {
    const std::string file = shard < out.shard_files.size() ? out.shard_files[shard] : "";
    quarantined_json.push_back({{"shard", shard}, {"file", file}, {"reason", q.first}, {"sampled_messages", q.second}});
  }
  json summary = {
      {"format", "fssl-audit-summary"}, {"version", 1},
      {"status", out.complete ? "complete" : "incomplete"}, {"exit_code", code},
      {"stop_reason", out.complete ? json(nullptr) : json(out.stop_reason)},
      {"config", {{"archive", o.archive_dir}, {"model", o.model_dir}, {"seed", o.seed},
                  {"sample_size", o.sample_size}, {"fraction", o.fraction}, {"token_budget", o.token_budget},
                  {"time_from_us", o.time_from_us ? json(*o.time_from_us) : json(nullptr)},
                  {"time_to_us", o.time_to_us ? json(*o.time_to_us) : json(nullptr)}, {"servers", o.servers},
                  {"stratify", o.stratify},
                  {"dtype", o.dtype}, {"force_model", o.force_model}, {"window_hours", o.window_hours},
                  {"score", {{"sigmas", o.score.sigmas}, {"margin_grid", o.score.margin_grid},
                             {"margin_threshold", o.score.margin_threshold}, {"rank_cutoff", o.score.rank_cutoff}}},
                  {"ipt", {{"sigmas", o.ipt.sigmas}, {"distance_grid", o.ipt.distance_grid},
                           {"distance_threshold", o.ipt.distance_threshold}, {"rank_cutoff", o.ipt.rank_cutoff}}},
                  {"policy", {{"dangerous_tokens", o.policy.dangerous_tokens},
                              {"suspicious_fraction", o.policy.suspicious_fraction},
                              {"max_flagged_messages", o.policy.max_flagged_messages},
                              {"max_flagged_fraction", o.policy.max_flagged_fraction},
                              {"max_unverifiable_fraction", o.policy.max_unverifiable_fraction},
                              {"quarantine_is_finding", o.policy.quarantine_is_finding},
                              {"max_dangerous_rate", o.policy.max_dangerous_rate},
                              {"max_info_percent", o.policy.max_info_percent},
                              {"max_malicious_fraction", o.policy.max_malicious_fraction}}},
                  {"bounds", {{"confidence", o.bounds.confidence}, {"detect_fraction", o.bounds.detect_fraction},
                              {"detect_catches", o.bounds.detect_catches},
                              {"secret_bytes", o.bounds.secret_bytes},
                              {"channel_bytes_per_day", o.bounds.channel_bytes_per_day},
                              {"output_tokens_per_day", o.bounds.output_tokens_per_day}}}}},
      {"archive", {{"digest", out.archive_digest}}},
      {"model", {{"fingerprint", out.model_fingerprint}}},
      {"plan", {{"archive_messages", out.archive_messages}, {"population", out.population}, {"planned", out.planned},
                {"batches", out.batches_total}, {"strata", plan_strata}}},
      {"totals", {{"planned", out.planned}, {"done", out.results.size()}, {"scored", n_scored},
                  {"unverifiable", n_unverifiable}, {"quarantined", n_quarantined}, {"flagged", n_flagged}}},
      {"gumbel_max", stats_json(gumbel, o.score.margin_grid, "logits")},
      {"inverse_cdf", stats_json(ipt, o.ipt.distance_grid, "probability")},
      {"strata", strata_json},
      {"bounds", bounds.json},
      {"verdict", {{"within_policy", out.complete && v.findings.empty()}, {"findings", v.findings}}},
      {"flagged_messages", flagged},
      {"unverifiable_messages", unverifiable},
      {"quarantined_shards", quarantined_json},
      {"run", {{"fssl_version", kVersionString}, {"git_sha", kGitSha}, {"tp_size", o.tp_size},
               {"resumed_batches", out.batches_resumed}, {"part", {o.part_index, o.part_count}},
               {"part_batches", {out.part_batches.first, out.part_batches.second}}}},
      {"timing", {{"wall_seconds", out.wall_seconds}, {"serve_seconds", out.serve_seconds},
                  {"group_busy_seconds", out.replay_seconds}, {"groups", out.n_groups},
                  {"output_tokens_verified", out.output_tokens_run},
                  {"verified_tokens_per_second", rate(out.output_tokens_run)},
                  {"processed_tokens_per_second", rate(out.processed_tokens_run)},
                  {"group_utilisation", utilisation}}}};
  int exit_code = code;
  if (o.calibration && out.complete) {
    exit_code = write_calibration(o, out, &summary) ? kExitOk : kExitFindings;
    summary["exit_code"] = exit_code;
  }
  const std::string summary_path = o.run_dir + "/summary.json";
  {
    std::ofstream f(summary_path + ".tmp");
    f << summary.dump(2) << "\n";
    FSSL_CHECK(f.good(), ArchiveError, "{}: cannot write", summary_path);
  }
  FSSL_CHECK(std::rename((summary_path + ".tmp").c_str(), summary_path.c_str()) == 0, ArchiveError,
             "{}: cannot rename into place", summary_path);
  write_audit_html(o.run_dir + "/report.html", summary, out.results, flags);
  if (out.complete) {
    ResultsFileInfo info{o.archive_dir, out.archive_digest, o.model_dir, out.model_fingerprint, summary["config"].dump(),
                         o.seed, o.score.sigmas, o.score.margin_grid, o.ipt.sigmas, o.ipt.distance_grid};
    write_results_h5(o.run_dir + "/results.h5", out.results, flags, info);
  }

  std::printf("#\n# fssl audit summary (%s)\n", out.complete ? "complete" : "incomplete");
  std::printf("#   messages planned  %10llu of %llu passing the filters (%llu in the archive)\n",
              static_cast<unsigned long long>(out.planned), static_cast<unsigned long long>(out.population),
              static_cast<unsigned long long>(out.archive_messages));
  std::printf("#   messages scored   %10llu, %lld tokens, exact-match rate %.4f\n",
              static_cast<unsigned long long>(n_scored), static_cast<long long>(gumbel.tokens + ipt.tokens),
              gumbel.tokens + ipt.tokens ? static_cast<double>(gumbel.exact + ipt.exact) / static_cast<double>(gumbel.tokens + ipt.tokens) : 0.0);
  std::printf("#   tokens safe/suspicious/dangerous %lld / %lld / %lld; bits charged %.1f\n",
              static_cast<long long>(gumbel.tiers[0] + ipt.tiers[0]), static_cast<long long>(gumbel.tiers[1] + ipt.tiers[1]),
              static_cast<long long>(gumbel.tiers[2] + ipt.tiers[2]), gumbel.charged_bits() + ipt.charged_bits());
  for (const auto& [text, ok] : v.lines) std::printf("#   %-62s %s\n", text.c_str(), ok ? "OK" : "FAILED");
  for (const std::string& s : bounds.statements) std::printf("#   %s\n", s.c_str());
  if (!out.complete) {
    std::printf("#   %-62s %s\n", ("incomplete: " + out.stop_reason).c_str(), "FAILED");
    std::printf("#   the journal keeps the finished work: rerun the same command to resume\n");
  }
  std::printf("#   %.1f s serving: %.0f verified output tok/s (%.0f tok/s with prompts), groups busy %.0f%%\n",
              out.serve_seconds, rate(out.output_tokens_run), rate(out.processed_tokens_run), 100.0 * utilisation);
  const char* verdict = o.calibration ? (exit_code == kExitOk ? "calibrated" : exit_code == kExitFindings
                                                                               ? "no operating point meets the target"
                                                                               : "incomplete (exit 4)")
                                      : code == kExitOk ? "within policy"
                                      : code == kExitFindings ? "findings over policy" : "incomplete (exit 4)";
  std::printf("# %s; report: %s/report.html, %s%s\n", verdict, o.run_dir.c_str(), summary_path.c_str(),
              out.complete ? (", " + o.run_dir + "/results.h5").c_str() : "");
  std::fflush(stdout);
  return exit_code;
}

}  // namespace fssl
