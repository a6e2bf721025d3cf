// The audit coordinator, rank 0 (audit/setup.h): checks the archive's model identity, plans
// the sample, resumes from the journal, serves batches to the group leaders, journals their
// results as they arrive, and stops cleanly on SIGUSR1/SIGTERM or before --max-time.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <map>
#include <set>

#include "audit/journal.h"
#include "audit/setup.h"
#include "fssl/archive.h"
#include "fssl/audit.h"
#include "fssl/audit_plan.h"
#include "fssl/audit_schedule.h"
#include "fssl/log.h"

namespace fssl {
namespace {

volatile std::sig_atomic_t g_checkpoint_requested = 0;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

void audit_request_checkpoint() noexcept { g_checkpoint_requested = 1; }

namespace {

// The coordinator's state while it serves one audit: what the journal already holds, what has
// arrived since, and the clocks of progress, journal syncs and the deadline.
class Coordinator {
 public:
  Coordinator(const AuditOptions& options, const AuditLayout& layout, AuditSetup& setup)
      : options_(options), layout_(layout), setup_(setup), outcome_(setup.outcome),
        journal_(AuditJournal::open(options.run_dir + "/journal.fssl", part_identity(setup.identity, options))),
        queue_(setup.plan, setup.manifest, options.token_budget) {}

  // The journal's batches are results already; the queue skips them and the other parts' batches.
  void resume() {
    std::vector<std::uint64_t> skipped;
    for (const JournalEntry& e : journal_.loaded()) {
      if (!by_batch_.emplace(e.batch_id, e.results).second) continue;  // a duplicate cannot change results
      skipped.push_back(e.batch_id);
      count(e.results);
    }
    if (!skipped.empty() || journal_.torn_bytes() > 0) {
      fmt::print("# resuming from {}: {} batches ({} messages) already done{}\n", journal_.path(), skipped.size(),
                 done_messages_, journal_.torn_bytes() ? ", a torn last entry of a killed run dropped" : "");
    }
    outcome_.batches_resumed = skipped.size();
    // An array task's part: a contiguous range of batch ids (neighbouring shards, one reader's cache).
    const auto [first_batch, end_batch] = part_batches(setup_.batches, options_.part_index, options_.part_count);
    for (std::uint64_t id = 0; id < setup_.batches; ++id) {
      if (id < first_batch || id >= end_batch) skipped.push_back(id);
    }
    outcome_.part_batches = {first_batch, end_batch};
    queue_.skip(skipped);
    resumed_messages_ = done_messages_;
    resumed_tokens_ = done_tokens_;
    const AuditPlan& plan = setup_.plan;
    fmt::print("# plan: {} of {} messages (seed {}, {} strata), token budget {} per batch, {} group(s) of {} rank(s)\n",
               plan.messages.size(), plan.population, options_.seed, plan.strata.size(), options_.token_budget,
               layout_.n_groups, layout_.tp_size);
    std::fflush(stdout);
  }

  // Serves every request until the queue is done or closed (checkpoint signal, deadline).
  void serve(const MpiComm& world, Clock::time_point start) {
    serve_start_ = last_progress_ = last_sync_ = Clock::now();
    serve_work(world, layout_, queue_, [&](int, std::optional<std::uint64_t> finished, std::vector<std::uint8_t> payload) {
      if (finished) on_report(*finished, payload);
      maybe_stop(start);
      maybe_print_progress();
    });
    outcome_.serve_seconds = seconds_since(serve_start_);
    journal_.sync();
  }

  // The outcome, results in batch order, for the report.
  AuditOutcome& finish(Clock::time_point start) {
    outcome_.n_groups = layout_.n_groups;
    outcome_.complete = queue_.finished();
    outcome_.batches_total = queue_.cut();
    outcome_.wall_seconds = seconds_since(start);
    for (auto& [id, results] : by_batch_) {
      for (MessageResult& r : results) outcome_.results.push_back(std::move(r));
    }
    if (!outcome_.complete && outcome_.stop_reason.empty()) outcome_.stop_reason = "work left undone";
    return outcome_;
  }

 private:
  void count(const std::vector<MessageResult>& results) {
    for (const MessageResult& r : results) {
      ++done_messages_;
      done_tokens_ += r.prompt_tokens + r.tokens.size();
    }
  }

  // A leader's BatchReport: journaled as received, then kept by batch id.
  void on_report(std::uint64_t finished, const std::vector<std::uint8_t>& payload) {
    BatchReport report = batch_report_decode(payload);
    FSSL_CHECK(report.batch_id == finished, CommError, "a group leader reported batch {} with the report of batch {}",
               finished, report.batch_id);
    outcome_.replay_seconds += report.seconds;
    slowest_batch_ = std::max(slowest_batch_, report.seconds);
    journal_.append(payload);
    for (const MessageResult& r : report.results) {
      outcome_.output_tokens_run += r.tokens.size();
      outcome_.processed_tokens_run += r.tokens.size() + (r.tokens.size() ? r.prompt_tokens : 0);
    }
    count(report.results);
    by_batch_.emplace(finished, std::move(report.results));
    if (seconds_since(last_sync_) >= options_.sync_seconds) {
      journal_.sync();
      last_sync_ = Clock::now();
    }
  }

  void maybe_stop(Clock::time_point start) {
    if (g_checkpoint_requested && outcome_.stop_reason.empty()) {
      outcome_.stop_reason = "checkpoint signal (SIGUSR1/SIGTERM)";
      queue_.close();
    }
    // Stop handing out work when the batches in flight might not finish before the deadline.
    const double deadline = options_.max_time_hours > 0 ? options_.max_time_hours * 3600.0 : 0.0;
    if (deadline > 0 && outcome_.stop_reason.empty() && seconds_since(start) + 2 * slowest_batch_ + 5 >= deadline) {
      outcome_.stop_reason = "--max-time reached";
      queue_.close();
    }
  }

  void maybe_print_progress() {
    if (seconds_since(last_progress_) < options_.progress_seconds) return;
    last_progress_ = Clock::now();
    const double elapsed = std::max(seconds_since(serve_start_), 1e-9);
    const double rate = static_cast<double>(done_tokens_ - resumed_tokens_) / elapsed;
    const double message_rate = static_cast<double>(done_messages_ - resumed_messages_) / elapsed;
    const std::size_t planned = setup_.plan.messages.size();
    const double eta = static_cast<double>(planned - done_messages_) / std::max(message_rate, 1e-9);
    fmt::print("# progress: {}/{} messages, {} tokens, {:.0f} verified tok/s, ETA {:.0f} s\n", done_messages_, planned,
               done_tokens_, rate, eta);
    std::fflush(stdout);
  }

  const AuditOptions& options_;
  const AuditLayout& layout_;
  AuditSetup& setup_;
  AuditOutcome& outcome_;
  AuditJournal journal_;
  WorkQueue queue_;
  std::map<std::uint64_t, std::vector<MessageResult>> by_batch_;
  std::uint64_t done_messages_ = 0, done_tokens_ = 0, resumed_messages_ = 0, resumed_tokens_ = 0;
  double slowest_batch_ = 0.0;
  Clock::time_point serve_start_, last_progress_, last_sync_;
};

}  // namespace

int run_coordinator(const MpiComm& world, const AuditLayout& layout, const AuditOptions& options,
                    const std::string& fingerprint) {
  const auto start = Clock::now();
  AuditSetup setup = prepare_audit(options, fingerprint);
  Coordinator coordinator(options, layout, setup);
  coordinator.resume();
  coordinator.serve(world, start);
  return report_audit(options, coordinator.finish(start));
}

}  // namespace fssl
