// `fssl calibrate`'s report and the audit's reading of its result (report.h):
// the frontier of each sampler family, the operating point for the target FPR, calibration.json.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

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

}  // namespace

bool write_calibration(const AuditOptions& o, const AuditOutcome& out, json* summary) {
  const CalibrationOptions& co = *o.calibration;
  std::vector<const TokenScores*> gumbel, ipt;
  for (const MessageResult& r : out.results) {
    if (r.status == MessageStatus::kScored) (r.inverse_cdf ? ipt : gumbel).push_back(&r.tokens);
  }
  const double log2_vocab = out.vocab_size > 0 ? std::log2(static_cast<double>(out.vocab_size)) : 0.0;
  const Calibration g = calibrate(gumbel, o.score.margin_grid, log2_vocab, co);
  const Calibration i = calibrate(ipt, o.ipt.distance_grid, log2_vocab, co);
  json file = {{"format", "fssl-calibration"}, {"version", 1}, {"archive_digest", out.archive_digest},
               {"model_fingerprint", out.model_fingerprint}, {"target_fpr_percent", co.target_fpr_percent},
               {"max_suspicious_percent", co.max_suspicious_percent}};
  json frontier;
  for (const auto& [name, c, key] : {std::tuple{"gumbel_max", &g, "margin_threshold"},
                                     std::tuple{"inverse_cdf", &i, "distance_threshold"}}) {
    json points = json::array();
    for (const FrontierPoint& p : c->points) points.push_back(point_json(p));
    frontier[name] = {{"tokens", c->tokens}, {"log2_vocab", c->log2_vocab}, {"points", points},
                      {"operating_point", c->chosen ? point_json(*c->chosen) : json(nullptr)}};
    if (c->chosen) file[name] = {{key, c->chosen->threshold}, {"rank_cutoff", c->chosen->rank_cutoff},
                                 {"fpr_percent", c->chosen->fpr_percent}, {"info_percent", c->chosen->info_percent}};
    if (c->tokens > 0) print_frontier(name, *c);
  }
  (*summary)["calibration"] = frontier;
  const bool found = (g.tokens == 0 || g.chosen) && (i.tokens == 0 || i.chosen) && g.tokens + i.tokens > 0;
  const std::string path = o.run_dir + "/calibration.json";
  write_file_atomic(path, file.dump(2) + "\n");
  fmt::print("# calibration: {} -> {}\n",
             found ? "operating point found" : "no operating point meets the target FPR (exit 3)", path);
  return found;
}

void apply_calibration_file(const std::string& path, AuditOptions* o) {
  std::ifstream in(path);
  FSSL_CHECK(in.good(), ConfigError, "--calibration {}: cannot open", path);
  try {
    const json c = json::parse(in);
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
}

}  // namespace fssl
