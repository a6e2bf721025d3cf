// `fssl calibrate`'s report and the audit's reading of its result (report.h): the frontier of
// each sampler family, the token operating point for the target FPR, the message threshold for the
// target message FPR (alarm.h), calibration.json.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>

#include "fssl/alarm.h"
#include "fssl/report.h"
#include "fssl/error.h"
#include "fssl/file.h"

namespace fssl {
namespace {

using nlohmann::json;

json point_json(const FrontierPoint& p) {
  return {{"threshold", p.threshold}, {"rank_cutoff", p.rank_cutoff}, {"fpr_percent", p.fpr_percent},
          {"info_percent", p.info_percent}, {"suspicious_percent", p.suspicious_percent}, {"kept", p.kept},
          {"on_frontier", p.on_frontier}};
}

void print_frontier(const char* family, const Calibration& c) {
  fmt::print("#\n# {} frontier over {} honest tokens (log2 V = {:.2f}): threshold, R, FPR %, Info %, suspicious %\n",
             family, c.tokens, c.log2_vocab);
  for (const FrontierPoint& p : c.points) {
    if (!p.on_frontier) continue;
    const bool chosen = c.chosen && c.chosen->threshold == p.threshold && c.chosen->rank_cutoff == p.rank_cutoff;
    fmt::print("#   {:8.4g}  {:4}  {:10.5f}  {:9.4f}  {:9.4f}{}\n", p.threshold, p.rank_cutoff, p.fpr_percent,
               p.info_percent, p.suspicious_percent, chosen ? "   <- operating point" : "");
  }
}

// The message threshold of one family at its token operating point: every honest message's
// evidence, +inf for one holding a token no benign noise explains (it would be flagged anyway, so
// it counts against the honest flag rate).
json message_calibration(const std::vector<const TokenScores*>& messages, double widest, std::int64_t rank_cutoff,
                         const CalibrationOptions& co, double confidence, const char* family) {
  std::vector<double> evidence;
  std::uint64_t impossible = 0;
  for (const TokenScores* m : messages) {
    const bool bad = impossible_tokens(*m, widest, rank_cutoff) > 0;
    impossible += bad ? 1 : 0;
    evidence.push_back(bad ? std::numeric_limits<double>::infinity() : message_evidence(*m));
  }
  const MessageThreshold t = message_threshold(evidence, co.target_message_fpr_percent / 100.0, confidence);
  std::vector<double> finite;
  for (double e : evidence) {
    if (std::isfinite(e)) finite.push_back(e);
  }
  std::sort(finite.begin(), finite.end());
  const double threshold = std::isfinite(t.threshold) ? t.threshold : std::numeric_limits<double>::max();
  fmt::print("# {} messages: flag evidence (sum of token margins) > {:.6g}: {} of {} honest messages above it; "
             "honest flag rate <= {:.4g}% ({:g}% confidence), target {:g}%{}\n",
             family, threshold, t.exceeding, t.messages, 100 * t.p0_upper, 100 * confidence,
             co.target_message_fpr_percent,
             t.certified ? ": certified"
                         : fmt::format(": NOT certified, {} honest messages cannot show a rate that low (rule of three: "
                                       "calibrate on at least {})", t.messages, t.messages_needed));
  if (impossible > 0) {
    fmt::print("# WARNING: {} honest {} message(s) hold tokens no benign noise explains (margin > {:g} beyond rank "
               "{}): the calibration traffic is not honest, or the replay does not match its servers\n",
               impossible, family, widest, rank_cutoff);
  }
  return {{"statistic", "sum_margin"}, {"threshold", threshold}, {"target_percent", co.target_message_fpr_percent},
          {"confidence", confidence}, {"messages", t.messages}, {"exceeding", t.exceeding}, {"order_k", t.order_k},
          {"p0", t.p0}, {"p0_upper", t.p0_upper}, {"certified", t.certified}, {"messages_needed", t.messages_needed},
          {"impossible_margin", widest}, {"impossible_messages", impossible}, {"honest_evidence", finite}};
}

}  // namespace

bool write_calibration(const AuditOptions& o, const AuditOutcome& out, json* summary) {
  const CalibrationOptions& co = *o.calibration;
  std::vector<const TokenScores*> gumbel, ipt;
  const double confidence = o.bounds.confidence;
  for (const MessageResult& r : out.results) {
    if (r.status == MessageStatus::kScored) (r.inverse_cdf ? ipt : gumbel).push_back(&r.tokens);
  }
  const double log2_vocab = out.vocab_size > 0 ? std::log2(static_cast<double>(out.vocab_size)) : 0.0;
  const Calibration g = calibrate(gumbel, o.score.margin_grid, log2_vocab, co);
  const Calibration i = calibrate(ipt, o.ipt.distance_grid, log2_vocab, co);
  json file = {{"format", "fssl-calibration"}, {"version", 2}, {"archive_digest", out.archive_digest},
               {"model_fingerprint", out.model_fingerprint}, {"target_fpr_percent", co.target_fpr_percent},
               {"max_suspicious_percent", co.max_suspicious_percent}};
  json frontier;
  const double widest_gumbel = *std::max_element(o.score.margin_grid.begin(), o.score.margin_grid.end());
  const double widest_ipt = *std::max_element(o.ipt.distance_grid.begin(), o.ipt.distance_grid.end());
  for (const auto& [name, c, key, messages, widest] :
       {std::tuple{"gumbel_max", &g, "margin_threshold", &gumbel, widest_gumbel},
        std::tuple{"inverse_cdf", &i, "distance_threshold", &ipt, widest_ipt}}) {
    json points = json::array();
    for (const FrontierPoint& p : c->points) points.push_back(point_json(p));
    frontier[name] = {{"tokens", c->tokens}, {"log2_vocab", c->log2_vocab}, {"points", points},
                      {"operating_point", c->chosen ? point_json(*c->chosen) : json(nullptr)}};
    if (c->tokens > 0) print_frontier(name, *c);
    if (!c->chosen) continue;
    file[name] = {{key, c->chosen->threshold}, {"rank_cutoff", c->chosen->rank_cutoff},
                  {"fpr_percent", c->chosen->fpr_percent}, {"info_percent", c->chosen->info_percent},
                  {"message", message_calibration(*messages, widest, c->chosen->rank_cutoff, co, confidence, name)}};
    json shown = file[name]["message"];
    shown.erase("honest_evidence");
    frontier[name]["message"] = shown;
  }
  (*summary)["calibration"] = frontier;
  const bool found = (g.tokens == 0 || g.chosen) && (i.tokens == 0 || i.chosen) && g.tokens + i.tokens > 0;
  const std::string path = o.run_dir + "/calibration.json";
  write_file_atomic(path, file.dump(2) + "\n");
  fmt::print("# calibration: {} -> {}\n",
             found ? "operating point found" : "no operating point meets the target FPR (exit 3)", path);
  return found;
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  FSSL_CHECK(in.good(), ConfigError, "{}: cannot open", path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    FSSL_THROW(ConfigError, "{}: {}", path, e.what());
  }
}

void calibration_alarm(const json& c, const std::string& path, AlarmConfig* a) {
  try {
    a->calibration_file = path;
    a->p0_upper = 0.0;
    for (const auto& [name, threshold, impossible] :
         {std::tuple{"gumbel_max", &a->gumbel_threshold, &a->gumbel_impossible},
          std::tuple{"inverse_cdf", &a->ipt_threshold, &a->ipt_impossible}}) {
      if (!c.contains(name) || !c[name].contains("message")) continue;
      const json& m = c[name]["message"];
      *threshold = m.at("threshold").get<double>();
      *impossible = m.at("impossible_margin").get<double>();
      a->p0_upper = std::max(a->p0_upper, m.at("p0_upper").get<double>());
    }
    if (!a->calibrated()) a->p0_upper = 1.0;
    // Power (fssl calibrate --adversarial): the weakest adversary's detection rate; an adversary
    // with no message in its sample has none.
    if (c.contains("power")) {
      for (const json& adv : c["power"].at("adversaries")) {
        if (!adv.contains("detection_rate")) continue;
        const double d = adv.at("detection_rate").get<double>();
        if (!a->detection || d < *a->detection) {
          a->detection = d;
          a->detection_adversary = adv.at("name").get<std::string>();
        }
      }
    }
  } catch (const json::exception& e) {
    FSSL_THROW(ConfigError, "--calibration {}: {}", path, e.what());
  }
}

void apply_calibration_file(const std::string& path, AuditOptions* o) {
  const json c = read_json_file(path);
  try {
    FSSL_CHECK(c.value("format", "") == "fssl-calibration", ConfigError, "--calibration {}: not an fssl calibration file",
               path);
    FSSL_CHECK(c.contains("gumbel_max") || c.contains("inverse_cdf"), ConfigError,
               "--calibration {}: no operating point (the calibration found none meeting its target)", path);
    if (c.contains("gumbel_max")) {
      o->score.margin_threshold = c["gumbel_max"].at("margin_threshold").get<double>();
      o->score.rank_cutoff = c["gumbel_max"].at("rank_cutoff").get<std::int64_t>();
      o->ipt.rank_cutoff = o->score.rank_cutoff;
    }
    if (c.contains("inverse_cdf")) {
      o->ipt.distance_threshold = c["inverse_cdf"].at("distance_threshold").get<double>();
      o->ipt.rank_cutoff = c["inverse_cdf"].at("rank_cutoff").get<std::int64_t>();
    }
  } catch (const json::exception& e) {
    FSSL_THROW(ConfigError, "--calibration {}: {}", path, e.what());
  }
  // Version 1 files hold token operating points only: the fixed policy counts judge then.
  calibration_alarm(c, path, &o->alarm);
}

}  // namespace fssl
