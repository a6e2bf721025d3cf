// The audit coordinator, rank 0 (audit_internal.h): checks the archive's model identity, plans
// the sample, resumes from the journal, serves batches to the group leaders, journals their
// results as they arrive, and stops cleanly on SIGUSR1/SIGTERM or before --max-time.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <map>
#include <set>

#include "audit_internal.h"
#include "fssl/archive.h"
#include "fssl/audit_journal.h"
#include "fssl/audit_plan.h"
#include "fssl/audit_schedule.h"
#include "fssl/log.h"
#include "fssl/model_config.h"

namespace fssl {
namespace {

volatile std::sig_atomic_t g_checkpoint_requested = 0;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
        FSSL_LOG_WARN("%s: model '%s' logged with fingerprint %s, auditing with %s anyway (--force-model)",
                      path.c_str(), m.name.c_str(), m.fingerprint.c_str(), fingerprint.c_str());
        continue;
      }
      FSSL_THROW(ConfigError,
                 "{}: messages were logged with model '{}' of fingerprint {}, but --model has fingerprint {}: "
                 "refusing to audit against another model (pass --force-model to measure the mismatch anyway)",
                 path, m.name, m.fingerprint, fingerprint);
    }
  }
}

nlohmann::json json_int(std::int64_t v) { return nlohmann::json(v); }

}  // namespace

// Everything the results depend on: a journal written under another identity is refused.
std::string audit_identity(const AuditOptions& o, const std::string& archive_digest, const std::string& fingerprint) {
  nlohmann::json id = {{"archive_digest", archive_digest}, {"model_fingerprint", fingerprint},
                       {"seed", o.seed}, {"sample_size", o.sample_size}, {"fraction", o.fraction},
                       {"token_budget", o.token_budget}, {"time_from_us", o.time_from_us ? json_int(*o.time_from_us) : nullptr},
                       {"time_to_us", o.time_to_us ? json_int(*o.time_to_us) : nullptr}, {"servers", o.servers},
                       {"stratify", o.stratify}, {"window_hours", o.window_hours}, {"dtype", o.dtype}, {"device", o.device}, {"force_model", o.force_model},
                       {"sigmas", o.score.sigmas}, {"margin_grid", o.score.margin_grid},
                       {"margin_threshold", o.score.margin_threshold}, {"rank_cutoff", o.score.rank_cutoff},
                       {"ipt_sigmas", o.ipt.sigmas}, {"ipt_distance_grid", o.ipt.distance_grid},
                       {"ipt_distance_threshold", o.ipt.distance_threshold}, {"ipt_rank_cutoff", o.ipt.rank_cutoff}};
  return id.dump();
}

std::string part_identity(const std::string& identity, const AuditOptions& o) {
  if (o.part_count <= 1) return identity;
  return identity + fmt::format(" part {}/{}", o.part_index, o.part_count);
}

void audit_request_checkpoint() noexcept { g_checkpoint_requested = 1; }

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

int run_coordinator(const MpiComm& world, const AuditLayout& layout, const AuditOptions& options,
                    const std::string& fingerprint) {
  const auto start = Clock::now();
  AuditSetup setup = prepare_audit(options, fingerprint);
  const Manifest& manifest = setup.manifest;
  const AuditPlan& plan = setup.plan;
  AuditOutcome& outcome = setup.outcome;

  AuditJournal journal = AuditJournal::open(options.run_dir + "/journal.fssl", part_identity(setup.identity, options));
  std::map<std::uint64_t, std::vector<MessageResult>> by_batch;
  std::vector<std::uint64_t> resumed;
  std::uint64_t done_messages = 0, done_tokens = 0;
  auto count = [&](const std::vector<MessageResult>& results) {
    for (const MessageResult& r : results) {
      ++done_messages;
      done_tokens += r.prompt_tokens + r.tokens.size();
    }
  };
  for (const JournalEntry& e : journal.loaded()) {
    if (!by_batch.emplace(e.batch_id, e.results).second) continue;  // a duplicate cannot change results
    resumed.push_back(e.batch_id);
    count(e.results);
  }
  if (!resumed.empty() || journal.torn_bytes() > 0) {
    std::printf("# resuming from %s: %zu batches (%llu messages) already done%s\n", journal.path().c_str(),
                resumed.size(), static_cast<unsigned long long>(done_messages),
                journal.torn_bytes() ? ", a torn last entry of a killed run dropped" : "");
  }
  outcome.batches_resumed = resumed.size();

  // An array task's part: a contiguous range of batch ids (neighbouring shards, one reader's cache).
  const auto [first_batch, end_batch] = part_batches(setup.batches, options.part_index, options.part_count);
  std::vector<std::uint64_t> skipped = resumed;
  for (std::uint64_t id = 0; id < setup.batches; ++id) {
    if (id < first_batch || id >= end_batch) skipped.push_back(id);
  }
  outcome.part_batches = {first_batch, end_batch};
  WorkQueue queue(plan, manifest, options.token_budget);
  queue.skip(skipped);
  std::printf("# plan: %llu of %llu messages (seed %llu, %zu strata), token budget %llu per batch, %d group(s) of %d rank(s)\n",
              static_cast<unsigned long long>(plan.messages.size()), static_cast<unsigned long long>(plan.population),
              static_cast<unsigned long long>(options.seed), plan.strata.size(), static_cast<unsigned long long>(options.token_budget),
              layout.n_groups, layout.tp_size);
  std::fflush(stdout);

  const auto serve_start = Clock::now();
  auto last_progress = serve_start, last_sync = serve_start;
  const std::uint64_t resumed_tokens = done_tokens, resumed_messages = done_messages;
  const double deadline = options.max_time_hours > 0 ? options.max_time_hours * 3600.0 : 0.0;
  double slowest_batch = 0.0;
  serve_work(world, layout, queue, [&](int, std::optional<std::uint64_t> finished, std::vector<std::uint8_t> payload) {
    if (finished) {
      const nlohmann::json report = nlohmann::json::from_cbor(payload);
      const double seconds = report.at("seconds").get<double>();
      outcome.replay_seconds += seconds;
      slowest_batch = std::max(slowest_batch, seconds);
      std::vector<MessageResult> results = results_from_bytes(report.at("results").get_binary());
      journal.append(*finished, results);
      for (const MessageResult& r : results) {
        outcome.output_tokens_run += r.tokens.size();
        outcome.processed_tokens_run += r.tokens.size() + (r.tokens.size() ? r.prompt_tokens : 0);
      }
      count(results);
      by_batch.emplace(*finished, std::move(results));
      if (seconds_since(last_sync) >= options.sync_seconds) {
        journal.sync();
        last_sync = Clock::now();
      }
    }
    if (g_checkpoint_requested && outcome.stop_reason.empty()) {
      outcome.stop_reason = "checkpoint signal (SIGUSR1/SIGTERM)";
      queue.close();
    }
    // Stop handing out work when the batches in flight might not finish before the deadline.
    if (deadline > 0 && outcome.stop_reason.empty() && seconds_since(start) + 2 * slowest_batch + 5 >= deadline) {
      outcome.stop_reason = "--max-time reached";
      queue.close();
    }
    if (seconds_since(last_progress) >= options.progress_seconds) {
      last_progress = Clock::now();
      const double elapsed = seconds_since(serve_start);
      const double rate = static_cast<double>(done_tokens - resumed_tokens) / std::max(elapsed, 1e-9);
      const double message_rate = static_cast<double>(done_messages - resumed_messages) / std::max(elapsed, 1e-9);
      const double eta = static_cast<double>(plan.messages.size() - done_messages) / std::max(message_rate, 1e-9);
      std::printf("# progress: %llu/%llu messages, %llu tokens, %.0f verified tok/s, ETA %.0f s\n",
                  static_cast<unsigned long long>(done_messages), static_cast<unsigned long long>(plan.messages.size()),
                  static_cast<unsigned long long>(done_tokens), rate, eta);
      std::fflush(stdout);
    }
  });
  outcome.serve_seconds = seconds_since(serve_start);
  journal.sync();
  outcome.n_groups = layout.n_groups;
  outcome.complete = queue.finished();
  outcome.batches_total = queue.cut();
  outcome.wall_seconds = seconds_since(start);
  for (auto& [id, results] : by_batch) {
    for (MessageResult& r : results) outcome.results.push_back(std::move(r));
  }
  if (!outcome.complete && outcome.stop_reason.empty()) outcome.stop_reason = "work left undone";
  return write_audit_report(options, outcome);
}

}  // namespace fssl
