// The coordinator side of fssl's main job, `mpirun -np N fssl audit` (the whole job is run_audit,
// worker.h). Rank 0 plans a reproducible sample of the archive (audit_plan.h), hands token-budget
// batches to tensor-parallel worker groups on request (audit_schedule.h), journals every finished
// batch's report (src/audit/journal.h), and reduces the per-message results into the run
// directory's summary.json, results.h5 and report.html (report.h). Group leaders read their
// messages, broadcast them to their group (audit_transfer.h), replay and score them (verify.h)
// and send back a BatchReport (results.h).
//
// Results depend only on (archive, config, audit seed): batches are cut in plan order, results
// are keyed by batch id, statistics are integers (audit_stats.h). The same command run again on
// the same --out directory resumes from the journal.
//
// Faults: an unreadable shard is quarantined (its sampled messages become unverifiable, the audit
// goes on); a bad record, a record whose stored digest does not match its content, an unknown
// profile or an out-of-range token id makes that message unverifiable; an archive logged with
// another model fingerprint is refused (ConfigError) unless `force_model`.
// This library links no libtorch (CMake target fssl_audit; tests/torch_free_check.cpp).
#pragma once
#include <string>
#include <vector>

#include "fssl/audit_layout.h"
#include "fssl/audit_options.h"
#include "fssl/mpi.h"

namespace fssl {

// The coordinator, rank 0 of `world` (src/audit/coordinator.cpp): plans, serves batches to the
// group leaders (audit_schedule.h), journals their reports, and writes the report (report.h);
// returns the exit code. Collective with every leader's request_work loop.
int run_coordinator(const MpiComm& world, const AuditLayout& layout, const AuditOptions& options,
                    const std::string& model_fingerprint);

// fssl merge (src/audit/merge.cpp): the union of the parts' journals into RUN/journal.fssl, and
// the report of the whole audit when they cover every batch; returns the exit code. One process.
int merge_runs(const AuditOptions& options, const std::vector<std::string>& part_dirs);

// Set by the SIGUSR1/SIGTERM handler cli_audit installs: checkpoint now and exit 4.
void audit_request_checkpoint() noexcept;

}  // namespace fssl
