// Summary, export and report rendering for `fssl archive inspect|export|validate`.
#include "fssl/archive_tools.h"

#include "fssl/record_json.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>

namespace fssl {
namespace {

using nlohmann::json;

void merge_counts(std::map<std::string, std::uint64_t>& into, const std::map<std::string, std::uint64_t>& from) {
  for (const auto& [name, n] : from) into[name] += n;
}

struct Totals {
  std::uint64_t n_prompt = 0, n_output = 0;
  std::int64_t time_min = 0, time_max = 0;
  std::map<std::string, std::uint64_t> models, servers, profiles;
};

Totals totals_of(const Manifest& m) {
  Totals t;
  for (std::size_t k = 0; k < m.shards.size(); ++k) {
    const ShardEntry& s = m.shards[k];
    t.n_prompt += s.n_prompt_tokens;
    t.n_output += s.n_output_tokens;
    t.time_min = k == 0 ? s.time_min_us : std::min(t.time_min, s.time_min_us);
    t.time_max = k == 0 ? s.time_max_us : std::max(t.time_max, s.time_max_us);
    merge_counts(t.models, s.models);
    merge_counts(t.servers, s.servers);
    merge_counts(t.profiles, s.sampler_profiles);
  }
  return t;
}

std::string counts_lines(const char* title, const std::map<std::string, std::uint64_t>& counts) {
  std::string out = fmt::format("# {}\n", title);
  for (const auto& [name, n] : counts) out += fmt::format("#   {:<40} {:>14}\n", name, n);
  return out;
}

}  // namespace

std::string format_time_us(std::int64_t us) {
  std::int64_t seconds = us / 1000000, micros = us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, micros);
}

std::string archive_summary_text(const Manifest& m, const std::string& dir) {
  const Totals t = totals_of(m);
  std::string out = fmt::format("# archive        : {}\n", dir);
  out += fmt::format("# shards         : {}\n", m.shards.size());
  out += fmt::format("# messages       : {}\n", m.n_messages());
  out += fmt::format("# tokens         : {} ({} prompt, {} output)\n", t.n_prompt + t.n_output, t.n_prompt, t.n_output);
  if (!m.shards.empty()) {
    out += fmt::format("# time range     : {} .. {}\n", format_time_us(t.time_min), format_time_us(t.time_max));
    out += fmt::format("# chain head     : {}\n", hex_encode(m.shards.back().chain_head));
  }
  out += fmt::format("# authenticated  : {}\n", m.hmac ? "yes (manifest HMAC present; verify with validate --key)" : "no");
  out += counts_lines("models", t.models) + counts_lines("servers", t.servers) +
         counts_lines("sampler profiles", t.profiles);
  out += fmt::format("# {:<18} {:>10} {:>12} {:>12} {:>20} {:>20} {:>12}\n", "shard", "messages", "prompt tok",
                     "output tok", "first id", "last id", "bytes");
  for (const ShardEntry& s : m.shards) {
    out += fmt::format("  {:<18} {:>10} {:>12} {:>12} {:>20} {:>20} {:>12}\n", s.file, s.n_messages,
                       s.n_prompt_tokens, s.n_output_tokens, s.first_message_id, s.last_message_id, s.bytes);
  }
  return out;
}

std::string archive_summary_json(const Manifest& m, const std::string& dir) {
  const Totals t = totals_of(m);
  json j = {{"archive", dir},
            {"n_shards", m.shards.size()},
            {"n_messages", m.n_messages()},
            {"n_prompt_tokens", t.n_prompt},
            {"n_output_tokens", t.n_output},
            {"time_min_us", t.time_min},
            {"time_max_us", t.time_max},
            {"authenticated", m.hmac.has_value()},
            {"models", t.models},
            {"servers", t.servers},
            {"sampler_profiles", t.profiles},
            {"manifest", json::parse(m.to_json_text())}};
  return j.dump(2) + "\n";
}

std::uint64_t archive_export_jsonl(ArchiveReader& reader, std::ostream& out) {
  std::uint64_t n = 0;
  const auto& shards = reader.manifest().shards;
  for (std::uint32_t k = 0; k < shards.size(); ++k) {
    const ShardReader& shard = reader.shard(k);
    for (std::uint64_t row = 0; row < shard.n_messages(); ++row) {
      LogRecord r = shard.read(row);
      json line = {{"message_id", r.message_id},
                   {"timestamp_us", r.timestamp_us},
                   {"prompt_token_ids", r.prompt},
                   {"output_token_ids", r.output},
                   {"seed", r.seed},
                   {"sampler",
                    {{"profile", r.sampler.profile},
                     {"temperature", r.sampler.temperature},
                     {"top_k", r.sampler.top_k},
                     {"top_p", r.sampler.top_p},
                     {"min_p", r.sampler.min_p}}},
                   {"model", r.model.name},
                   {"model_fingerprint", r.model.fingerprint},
                   {"vocab_size", r.model.vocab_size},
                   {"tokenizer", r.model.tokenizer},
                   {"server", r.server},
                   {"shard", shards[k].file},
                   {"row", row}};
      // Format v2 parts only where a record has them, so a v1 record exports as before.
      if (r.sampler.processors != LogitsProcessors{}) line["sampler"].update(processors_to_json(r.sampler.processors));
      if (!r.engine.empty()) line["engine"] = engine_tag_to_json(r.engine);
      out << line.dump() << '\n';
      ++n;
    }
  }
  return n;
}

std::string validation_report_text(const ValidationReport& r, const std::string& dir) {
  std::string out;
  for (const Problem& p : r.problems) {
    out += fmt::format("{}: {}\n", p.severity == Problem::Severity::kError ? "ERROR" : "WARNING", p.str());
  }
  out += fmt::format("# archive          : {}\n", dir);
  out += fmt::format("# shards           : {}\n", r.n_shards);
  out += fmt::format("# messages         : {} ({} records checked)\n", r.n_messages, r.n_records_checked);
  out += fmt::format("# tokens           : {}\n", r.n_tokens);
  out += fmt::format("# hash chain       : {}\n", r.chain_broken ? "BROKEN" : "OK");
  out += fmt::format("# HMAC             : {}\n",
                     !r.hmac_checked ? "not checked (no --key)" : r.hmac_failed ? "FAILED" : "OK");
  out += fmt::format("# errors           : {}\n", r.n_errors());
  out += fmt::format("# warnings         : {}\n", r.n_warnings());
  out += fmt::format("# verdict          : {}\n", r.ok() ? "VALID" : "INVALID");
  return out;
}

std::string validation_report_json(const ValidationReport& r, const std::string& dir) {
  json problems = json::array();
  for (const Problem& p : r.problems) {
    json jp = {{"severity", p.severity == Problem::Severity::kError ? "error" : "warning"},
               {"file", p.file},
               {"what", p.what},
               {"message", p.str()}};
    if (p.row >= 0) jp["row"] = p.row;
    if (p.message_id) jp["message_id"] = *p.message_id;
    problems.push_back(jp);
  }
  json j = {{"archive", dir},           {"valid", r.ok()},
            {"n_shards", r.n_shards},   {"n_messages", r.n_messages},
            {"n_tokens", r.n_tokens},   {"n_records_checked", r.n_records_checked},
            {"hmac_checked", r.hmac_checked}, {"chain_broken", r.chain_broken},
            {"hmac_failed", r.hmac_failed},   {"n_errors", r.n_errors()},
            {"n_warnings", r.n_warnings()}, {"problems", problems}};
  return j.dump(2) + "\n";
}

}  // namespace fssl
