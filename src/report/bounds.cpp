// Fleet-wide confidence statements of an audit (report/bounds.h).
#include "report/bounds.h"

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>

#include "fssl/detection.h"
#include "fssl/error.h"

namespace fssl {
namespace {

using nlohmann::json;

// Bits per token over messages: a ratio estimator with a delta-method interval, because tokens of
// one message are not independent draws but messages of a uniform sample are.
struct RatioInterval {
  double estimate = 0.0, lower = 0.0, upper = 0.0;
};

RatioInterval bits_per_token(const std::vector<std::pair<double, std::uint64_t>>& messages, double confidence,
                             double ceiling) {
  RatioInterval out;
  double bits = 0.0, tokens = 0.0;
  for (const auto& [b, t] : messages) {
    bits += b;
    tokens += static_cast<double>(t);
  }
  if (tokens == 0.0) return {0.0, 0.0, ceiling};
  out.estimate = bits / tokens;
  const double n = static_cast<double>(messages.size());
  if (messages.size() < 2) return {out.estimate, 0.0, ceiling};
  double residual = 0.0;
  for (const auto& [b, t] : messages) residual += std::pow(b - out.estimate * static_cast<double>(t), 2);
  const double se = std::sqrt(residual / (n - 1) / n) / (tokens / n);
  const double z = boost::math::quantile(boost::math::normal(), 0.5 + confidence / 2);
  out.lower = std::max(0.0, out.estimate - z * se);
  out.upper = std::min(ceiling, out.estimate + z * se);
  return out;
}

json group_bounds(const BoundsInput::Group& g, const BoundsConfig& c) {
  const double upper = malicious_fraction_upper(g.flagged, g.sampled, g.population, c.confidence);
  json out = {{"flagged", g.flagged}, {"sampled", g.sampled},
              {"population", g.population ? json(*g.population) : json(nullptr)},
              {"malicious_fraction_upper", upper}, {"detect_fraction", c.detect_fraction},
              {"detect_catches", c.detect_catches}};
  // Would a share p of malicious messages have shown up at least k times in this sample?
  double caught = 0.0;
  if (g.population && *g.population > 0) {
    const auto bad = static_cast<std::uint64_t>(std::ceil(c.detect_fraction * static_cast<double>(*g.population)));
    caught = hypergeometric_at_least(*g.population, std::min(bad, *g.population), g.sampled, c.detect_catches);
  } else {
    caught = binomial_at_least(g.sampled, c.detect_fraction, c.detect_catches);
  }
  out["catch_probability"] = caught;
  if (!g.key.empty()) out["key"] = g.key;
  return out;
}

}  // namespace

BoundsReport audit_bounds(const AuditOptions& o, const BoundsInput& in) {
  const BoundsConfig& c = o.bounds;
  FSSL_CHECK(c.confidence > 0.0 && c.confidence < 1.0, ConfigError, "--confidence {} must lie in (0, 1)", c.confidence);
  FSSL_CHECK(c.detect_fraction > 0.0 && c.detect_fraction <= 1.0, ConfigError, "--detect-fraction {} must lie in (0, 1]",
             c.detect_fraction);
  BoundsReport r;
  const double pct = 100.0 * c.confidence;

  const Interval fpr = clopper_pearson(in.dangerous, in.tokens, c.confidence);
  const double fpr_rate = in.tokens ? static_cast<double>(in.dangerous) / static_cast<double>(in.tokens) : 0.0;
  r.json["token_fpr"] = {{"dangerous_tokens", in.dangerous}, {"tokens", in.tokens}, {"rate", fpr_rate},
                         {"lower", fpr.lower}, {"upper", fpr.upper}};
  r.statements.push_back(fmt::format(
      "{} of {} scored tokens are dangerous: a token false-positive rate of {:.4g}% ({:g}% interval {:.4g}% to {:.4g}%), "
      "if the traffic is honest.", in.dangerous, in.tokens, 100 * fpr_rate, pct, 100 * fpr.lower, 100 * fpr.upper));

  const RatioInterval bits = bits_per_token(in.messages, c.confidence, in.log2_vocab);
  const double info_upper = in.log2_vocab > 0 ? 100.0 * bits.upper / in.log2_vocab : 100.0;
  json info = {{"bits_per_token", bits.estimate}, {"bits_per_token_lower", bits.lower},
               {"bits_per_token_upper", bits.upper}, {"log2_vocab", in.log2_vocab},
               {"info_percent", in.log2_vocab > 0 ? 100.0 * bits.estimate / in.log2_vocab : 0.0},
               {"info_percent_upper", info_upper},
               {"population_output_tokens", in.population_output_tokens},
               {"population_output_tokens_estimated", in.population_tokens_estimated},
               {"covert_bits_upper", bits.upper * in.population_output_tokens}};
  r.statements.push_back(fmt::format(
      "Accepted tokens can carry at most {:.4g} bits each on average ({:g}% upper bound; {:.4g}% of log2 V = {:.2f}): "
      "at most {:.4g} covert bits ({:.4g} bytes) in the audited population's {:.4g} output tokens.",
      bits.upper, pct, info_upper, in.log2_vocab, bits.upper * in.population_output_tokens,
      bits.upper * in.population_output_tokens / 8, in.population_output_tokens));
  // The exfiltration timeline: the raw channel is what the traffic could carry unverified.
  const double channel = c.channel_bytes_per_day > 0 ? c.channel_bytes_per_day
                                                    : c.output_tokens_per_day * in.log2_vocab / 8.0;
  if (channel > 0 && in.secret_bytes > 0) {
    const double fraction = std::max(info_upper / 100.0, 1e-300);
    const double full = exfiltration_days(in.secret_bytes, channel, 1.0);
    const double bounded = exfiltration_days(in.secret_bytes, channel, fraction);
    info["exfiltration"] = {{"secret_bytes", in.secret_bytes}, {"channel_bytes_per_day", channel},
                            {"days_unverified", full}, {"days_at_bound", bounded}, {"slowdown", bounded / full}};
    r.statements.push_back(fmt::format(
        "Moving {:.4g} bytes through {:.4g} bytes/day of output: {:.3g} days unverified, at least {:.4g} days within "
        "the bound ({:.3g}x slower).", in.secret_bytes, channel, full, bounded, bounded / full));
  }
  r.json["information"] = info;

  r.json["malicious"] = group_bounds(in.fleet, c);
  json strata = json::array();
  for (const BoundsInput::Group& g : in.strata) strata.push_back(group_bounds(g, c));
  r.json["malicious_strata"] = strata;
  const double mal_upper = r.json["malicious"]["malicious_fraction_upper"].get<double>();
  r.statements.push_back(fmt::format(
      "{} of {} sampled messages flagged: at most {:.4g}% of the {} messages are malicious ({:g}% confidence); had "
      "{:g}% been malicious, this sample would have caught at least {} with probability {:.6g}.", in.fleet.flagged,
      in.fleet.sampled, 100 * mal_upper,
      in.fleet.population ? std::to_string(*in.fleet.population) : std::string("audited"), pct,
      100 * c.detect_fraction, c.detect_catches, r.json["malicious"]["catch_probability"].get<double>()));
  r.json["confidence"] = c.confidence;
  r.json["statements"] = r.statements;

  auto line = [&](bool ok, const std::string& text, const std::string& finding) {
    r.lines.emplace_back(text, ok);
    if (!ok) r.findings.push_back(finding);
  };
  line(fpr.upper <= o.policy.max_dangerous_rate,
       fmt::format("token FPR upper  {:>11.4g}%   policy <= {:g}%", 100 * fpr.upper, 100 * o.policy.max_dangerous_rate),
       fmt::format("token false-positive rate up to {:.4g}%", 100 * fpr.upper));
  line(info_upper <= o.policy.max_info_percent,
       fmt::format("info % upper     {:>11.4g}%   policy <= {:g}%", info_upper, o.policy.max_info_percent),
       fmt::format("extractable information up to {:.4g}% of log2 V", info_upper));
  line(mal_upper <= o.policy.max_malicious_fraction,
       fmt::format("malicious upper  {:>11.4g}%   policy <= {:g}%", 100 * mal_upper, 100 * o.policy.max_malicious_fraction),
       fmt::format("up to {:.4g}% of the traffic may be malicious", 100 * mal_upper));
  return r;
}

}  // namespace fssl
