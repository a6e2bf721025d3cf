// The report's first stages (stages.h): tally the outcomes, judge them by the policy's count
// lines, and state the fleet-wide bounds. Pure functions of (options, outcome).
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <limits>

#include "fssl/alarm.h"
#include "report/stages.h"

namespace fssl {

std::string utc_time(std::int64_t us) {
  const std::time_t t = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

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

namespace {

// Under the calibrated rule (alarm.h): evidence over the family's threshold, or a token no benign
// noise explains. `threshold` empty: the family has no calibrated threshold, the policy counts judge.
std::string alarm_flag_reasons(const MessageResult& r, const AuditPolicy& policy, std::optional<double> threshold,
                               double evidence, std::uint64_t impossible, double widest, std::int64_t rank_cutoff) {
  std::string reasons = threshold ? (evidence > *threshold ? fmt::format("evidence {:.4g} > {:.4g} (sum of token "
                                                                          "margins, calibrated)", evidence, *threshold)
                                                           : std::string())
                                  : flag_reasons(r, policy);
  if (impossible > 0) {
    if (!reasons.empty()) reasons += "; ";
    reasons += fmt::format("{} token(s) no benign noise explains (margin > {:g} beyond rank {})", impossible, widest,
                           rank_cutoff);
  }
  return reasons;
}

// How one sampler family's messages are flagged: its calibrated evidence threshold (none: the
// policy counts), and the margin and rank beyond which a token is impossible.
struct FamilyRule {
  std::optional<double> threshold;
  double widest = 0.0;
  std::int64_t rank_cutoff = 0;
};

// Gumbel-max, then inverse-CDF. Uncalibrated, the widest margin the audit's own config scores.
std::array<FamilyRule, 2> family_rules(const AuditOptions& o) {
  const AlarmConfig& a = o.alarm;
  ScoreConfig ipt_grid;
  ipt_grid.margin_grid = o.ipt.distance_grid;
  ipt_grid.margin_threshold = o.ipt.distance_threshold;
  return {FamilyRule{a.gumbel_threshold, a.gumbel_threshold ? a.gumbel_impossible : score_widest_margin(o.score),
                     o.score.rank_cutoff},
          FamilyRule{a.ipt_threshold, a.ipt_threshold ? a.ipt_impossible : score_widest_margin(ipt_grid),
                     o.ipt.rank_cutoff}};
}

// A scored message into its family's statistics, its stratum and the flag list.
void tally_scored(const AuditOptions& o, const FamilyRule& rule, const MessageResult& r, std::size_t i,
                  StratumCounts& c, AuditTally& t) {
  ++t.n_scored;
  ++c.scored;
  (r.inverse_cdf ? t.ipt : t.gumbel).add_message(r.tokens);
  double bits = 0.0;
  for (double b : r.tokens.bits) bits += b;
  t.message_bits.emplace_back(bits, r.tokens.size());
  c.tokens += static_cast<std::int64_t>(r.tokens.size());
  for (std::size_t k = 0; k < r.tokens.size(); ++k) {
    c.exact += r.tokens.exact[k];
    c.tiers[r.tokens.tier[k] < 3 ? r.tokens.tier[k] : 2] += 1;
  }
  const std::uint64_t impossible = impossible_tokens(r.tokens, rule.widest, rule.rank_cutoff);
  const double evidence = message_evidence(r.tokens);
  t.evidence[i] = impossible ? std::numeric_limits<double>::infinity() : evidence;
  t.n_impossible += impossible ? 1 : 0;
  t.flags[i] = alarm_flag_reasons(r, o.policy, rule.threshold, evidence, impossible, rule.widest, rule.rank_cutoff);
  const bool flagged = !t.flags[i].empty();
  if (rule.threshold) {
    ++t.n_tested;
    ++c.tested;
    t.n_tested_flagged += flagged ? 1 : 0;
    c.tested_flagged += flagged ? 1 : 0;
  }
  if (!flagged) return;
  ++t.n_flagged;
  ++c.flagged;
  t.flagged.push_back({{"shard", r.ref.shard}, {"row", r.ref.row}, {"message_id", r.message_id},
                       {"server", r.server}, {"model", r.model}, {"impossible_tokens", impossible},
                       {"reasons", t.flags[i]}});
}

}  // namespace

AuditTally report_tally(const AuditOptions& o, const AuditOutcome& out) {
  ScoreConfig ipt_as_score;  // IPT distances on the statistics' grid
  ipt_as_score.margin_grid = o.ipt.distance_grid;
  AuditTally t(o.score, ipt_as_score);
  t.flags.resize(out.results.size());
  t.evidence.assign(out.results.size(), std::numeric_limits<double>::quiet_NaN());
  const std::array<FamilyRule, 2> rules = family_rules(o);
  t.window_us = std::max<std::int64_t>(static_cast<std::int64_t>(o.window_hours * 3600e6), 1);
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    const MessageResult& r = out.results[i];
    if (r.status == MessageStatus::kQuarantined) {  // never read: no model, server or time to stratify by
      ++t.n_quarantined;
      auto& q = t.quarantined[r.ref.shard];
      if (q.first.empty()) q.first = r.reason;
      ++q.second;
      continue;
    }
    StratumCounts& c = t.strata[{r.model, r.server, r.timestamp_us / t.window_us}];
    ++c.messages;
    if (r.status == MessageStatus::kUnverifiable) {
      ++t.n_unverifiable;
      ++c.unverifiable;
      t.n_tampered += r.reason == kTamperedRecordReason ? 1 : 0;
      t.unverifiable.push_back({{"shard", r.ref.shard}, {"row", r.ref.row}, {"message_id", r.message_id},
                                {"reason", r.reason}});
      continue;
    }
    tally_scored(o, rules[r.inverse_cdf ? 1 : 0], r, i, c, t);
  }
  return t;
}

namespace {

// The fixed policy counts (no calibrated message threshold): flagged messages and their share.
template <typename Line>
void judge_counts(const AuditPolicy& p, const AuditTally& t, Line& line) {
  line(t.n_flagged <= p.max_flagged_messages,
       fmt::format("flagged messages   {:>10}   policy <= {}", t.n_flagged, p.max_flagged_messages),
       fmt::format("{} flagged message(s), policy allows {}", t.n_flagged, p.max_flagged_messages));
  const double flagged_share = t.n_scored ? static_cast<double>(t.n_flagged) / static_cast<double>(t.n_scored) : 0.0;
  line(flagged_share <= p.max_flagged_fraction,
       fmt::format("flagged share      {:>9.3g}%   policy <= {:g}%", 100 * flagged_share, 100 * p.max_flagged_fraction),
       fmt::format("{:.3g}% of the scored messages flagged", 100 * flagged_share));
}

}  // namespace

Verdict report_judge(const AuditOptions& o, const AuditOutcome& out, const AuditTally& t) {
  Verdict v;
  const AuditPolicy& p = o.policy;
  auto line = [&](bool ok, const std::string& text, const std::string& finding) {
    v.lines.emplace_back(text, ok);
    if (!ok) v.findings.push_back(finding);
  };
  if (o.alarm.calibrated()) {
    judge_alarm(o, t, &v);
  } else {
    judge_counts(p, t, line);
  }
  const std::uint64_t not_verified = t.n_unverifiable + t.n_quarantined;
  const double unverifiable_share =
      out.planned ? static_cast<double>(not_verified) / static_cast<double>(out.planned) : 0.0;
  line(unverifiable_share <= p.max_unverifiable_fraction,
       fmt::format("not verifiable     {:>10}   {:.2f}% of sample, policy <= {:.2f}%", not_verified,
                   100 * unverifiable_share, 100 * p.max_unverifiable_fraction),
       fmt::format("{:.2f}% of the sample unverifiable", 100 * unverifiable_share));
  line(t.quarantined.empty() || !p.quarantine_is_finding,
       fmt::format("quarantined shards {:>10}   {}", t.quarantined.size(),
                   p.quarantine_is_finding ? "policy: none" : "policy: allowed"),
       fmt::format("{} shard(s) quarantined", t.quarantined.size()));
  return v;
}

BoundsReport report_bounds(const AuditOptions& o, const AuditOutcome& out, const AuditTally& t) {
  BoundsInput in;
  in.messages = t.message_bits;
  in.tokens = static_cast<std::uint64_t>(t.gumbel.tokens + t.ipt.tokens);
  in.dangerous = static_cast<std::uint64_t>(t.gumbel.tiers[2] + t.ipt.tiers[2]);
  in.log2_vocab = out.vocab_size > 0 ? std::log2(static_cast<double>(out.vocab_size)) : 0.0;
  in.population_tokens_estimated = out.filtered;
  // Filters or strata: the population's output tokens are the sample mean times its size.
  in.population_output_tokens =
      out.filtered ? (t.n_scored ? static_cast<double>(in.tokens) / static_cast<double>(t.n_scored) *
                                       static_cast<double>(out.population)
                                 : 0.0)
                   : out.archive_output_tokens;
  in.secret_bytes = o.bounds.secret_bytes > 0 ? o.bounds.secret_bytes : out.model_bytes;
  in.fleet = {"", t.n_flagged, t.n_scored, out.population};
  for (const auto& [key, c] : t.strata) {
    const auto& [model, server, window] = key;
    in.strata.push_back({model + " / " + server + " / " + utc_time(window * t.window_us),
                         static_cast<std::uint64_t>(c.flagged), static_cast<std::uint64_t>(c.scored), std::nullopt});
  }
  return audit_bounds(o, in);
}

}  // namespace fssl
