// fssl merge (audit/setup.h): the parts of an audit split over array tasks (--part I/N) become
// one audit. Each part's journal must carry the same audit identity (archive digest, model,
// plan and scoring options; only the part differs); their batches are united by id, so the
// order of the run directories never matters, and the union is written as the merged run's
// journal: when parts are missing, `fssl audit` on the merged directory replays just those.
#include <cstdio>
#include <filesystem>
#include <map>

#include "audit/journal.h"
#include "audit/setup.h"
#include "fssl/audit.h"
#include "fssl/error.h"
#include "fssl/model_weights.h"

namespace fssl {

int merge_runs(const AuditOptions& options, const std::vector<std::string>& part_dirs) {
  FSSL_CHECK(!part_dirs.empty(), ConfigError, "fssl merge: name the run directories of the parts to merge");
  AuditSetup setup = prepare_audit(options, model_fingerprint(options.model_dir));
  std::map<std::uint64_t, BatchReport> by_batch;
  for (const std::string& dir : part_dirs) {
    const std::string path = dir + "/journal.fssl";
    std::string identity;
    std::vector<JournalEntry> entries = AuditJournal::read(path, &identity);
    // A part's identity is the whole audit's plus " part i/n": anything else is another audit.
    FSSL_CHECK(identity.rfind(setup.identity, 0) == 0 &&
                   (identity.size() == setup.identity.size() || identity.compare(setup.identity.size(), 6, " part ") == 0),
               ConfigError,
               "fssl merge: {} is a run of another audit (archive, model, plan or scoring options differ from these "
               "options); refusing to merge it.\n  that run: {}\n  these options: {}",
               dir, identity, setup.identity);
    std::size_t added = 0;
    for (JournalEntry& e : entries) added += by_batch.emplace(e.batch_id, std::move(e)).second ? 1 : 0;
    fmt::print("# merge: {}: {} batches ({} new)\n", dir, entries.size(), added);
  }
  std::error_code ec;
  std::filesystem::create_directories(options.run_dir, ec);
  FSSL_CHECK(!ec, ConfigError, "fssl merge: --out {}: cannot create the run directory: {}", options.run_dir, ec.message());
  const std::string merged_journal = options.run_dir + "/journal.fssl";
  std::filesystem::remove(merged_journal, ec);  // rewritten whole from the parts
  {
    AuditJournal journal = AuditJournal::open(merged_journal, setup.identity);
    for (const auto& [id, report] : by_batch) journal.append(batch_report_encode(report));
    journal.sync();
  }
  AuditOutcome& outcome = setup.outcome;
  outcome.batches_total = setup.batches;
  outcome.batches_resumed = by_batch.size();
  outcome.part_batches = {0, setup.batches};
  outcome.complete = by_batch.size() == setup.batches;  // ids of one audit are < batches: the count decides
  if (!outcome.complete) {
    outcome.stop_reason = fmt::format("the parts hold {} of {} batches: run fssl audit on {} to replay the rest",
                                      by_batch.size(), setup.batches, options.run_dir);
  }
  for (auto& [id, report] : by_batch) {
    for (MessageResult& r : report.results) outcome.results.push_back(std::move(r));
  }
  fmt::print("# merge: {} parts, {} of {} batches -> {}\n", part_dirs.size(), by_batch.size(), setup.batches,
             options.run_dir);
  return report_audit(options, outcome);
}

}  // namespace fssl
