// The facts an audit starts from (setup.h): manifest, model identity, plan, batch count, and
// the identity that decides whether a journal belongs to this audit.
#include "audit/setup.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "fssl/audit_schedule.h"
#include "fssl/digest.h"
#include "fssl/log.h"
#include "fssl/model_config.h"

namespace fssl {
namespace {

// Refuses an archive logged against another model before any replay. Opens at most 16 of the
// planned shards, spread over the plan (opening all of a 10^4-shard archive would cost minutes);
// the leaders check every record they read as well.
void check_model_identity(const std::string& archive_dir, const Manifest& manifest, const AuditPlan& plan,
                          const std::string& fingerprint, bool force) {
  std::vector<std::uint32_t> shards;
  for (const MessageRef& r : plan.messages) {
    if (shards.empty() || shards.back() != r.shard) shards.push_back(r.shard);
  }
  const std::size_t step = std::max<std::size_t>(1, shards.size() / 16);
  for (std::size_t i = 0; i < shards.size(); i += step) {
    const std::string path = archive_dir + "/" + manifest.shards[shards[i]].file;
    std::optional<ShardReader> shard;
    try {
      shard = ShardReader::open(path);
    } catch (const ArchiveError&) {
      continue;  // unreadable: the leader that reads it quarantines it and says why
    }
    for (const ModelInfo& m : shard->models()) {
      if (m.fingerprint.empty() || m.fingerprint == fingerprint) continue;
      if (force) {
        FSSL_LOG_WARN("{}: model '{}' logged with fingerprint {}, auditing with {} anyway (--force-model)", path,
                      m.name, m.fingerprint, fingerprint);
        continue;
      }
      FSSL_THROW(ConfigError,
                 "{}: messages were logged with model '{}' of fingerprint {}, but --model has fingerprint {}: "
                 "refusing to audit against another model (pass --force-model to measure the mismatch anyway)",
                 path, m.name, m.fingerprint, fingerprint);
    }
  }
}

}  // namespace

// Everything the results depend on: a journal written under another identity is refused. The
// options' JSON without what cannot change a result (paths: an archive may move; policy and
// bounds and the alarm rule: they judge results, and a rerun with another policy reuses the journal), plus the
// replay device.
std::string audit_identity(const AuditOptions& o, const std::string& archive_digest, const std::string& fingerprint) {
  nlohmann::json id = to_json(o);
  for (const char* key : {"archive", "model", "policy", "bounds", "alarm"}) id.erase(key);
  id["archive_digest"] = archive_digest;
  id["model_fingerprint"] = fingerprint;
  id["device"] = o.device;
  return id.dump();
}

std::string part_identity(const std::string& identity, const AuditOptions& o) {
  if (o.part_count <= 1) return identity;
  return identity + fmt::format(" part {}/{}", o.part_index, o.part_count);
}

AuditSetup prepare_audit(const AuditOptions& options, const std::string& fingerprint) {
  AuditSetup setup;
  setup.manifest = Manifest::read(options.archive_dir);
  AuditOutcome& outcome = setup.outcome;
  outcome.model_fingerprint = fingerprint;
  outcome.archive_digest = hex_encode(sha256(setup.manifest.to_json_text()));
  for (const ShardEntry& e : setup.manifest.shards) {
    outcome.shard_files.push_back(e.file);
    outcome.archive_output_tokens += static_cast<double>(e.n_output_tokens);
  }
  outcome.vocab_size = ModelConfig::read(options.model_dir + "/config.json").vocab_size;
  for (const auto& entry : std::filesystem::directory_iterator(options.model_dir)) {
    if (entry.path().extension() == ".safetensors") outcome.model_bytes += static_cast<double>(entry.file_size());
  }
  PlanOptions plan_options;
  plan_options.seed = options.seed;
  plan_options.sample_size = options.sample_size;
  plan_options.fraction = options.fraction;
  plan_options.time_from_us = options.time_from_us;
  plan_options.time_to_us = options.time_to_us;
  plan_options.servers = options.servers;
  plan_options.stratify = parse_stratify(options.stratify);
  plan_options.window_hours = options.window_hours;
  setup.plan = audit_plan(setup.manifest, plan_options, options.archive_dir);
  outcome.filtered = plan_options.filtered();
  check_model_identity(options.archive_dir, setup.manifest, setup.plan, fingerprint, options.force_model);
  outcome.population = setup.plan.population;
  outcome.archive_messages = setup.manifest.n_messages();
  outcome.planned = setup.plan.messages.size();
  for (const PlanStratum& s : setup.plan.strata) outcome.plan_strata.push_back({s.key, s.population, s.planned});
  // Batches are cut from the whole plan whatever the part: counting them is one pass over the plan.
  WorkQueue all(setup.plan, setup.manifest, options.token_budget);
  while (all.next()) {
  }
  setup.batches = all.cut();
  setup.identity = audit_identity(options, outcome.archive_digest, fingerprint);
  return setup;
}

std::pair<std::uint64_t, std::uint64_t> part_batches(std::uint64_t batches, int index, int count) {
  const auto b = static_cast<unsigned __int128>(batches);
  return {static_cast<std::uint64_t>(b * static_cast<unsigned>(index) / static_cast<unsigned>(count)),
          static_cast<std::uint64_t>(b * static_cast<unsigned>(index + 1) / static_cast<unsigned>(count))};
}

}  // namespace fssl
