// Pieces of the audit job shared by its source files (private to src/audit_*.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "fssl/archive.h"
#include "fssl/audit.h"
#include "fssl/audit_plan.h"
#include "fssl/audit_layout.h"
#include "fssl/audit_result.h"
#include "fssl/audit_stats.h"
#include "fssl/model.h"

namespace fssl {

// Worker ranks (audit_worker.cpp): binds the rank's GPU when options.device is cuda, loads the
// model there (bf16) or on the CPU, makes the group's communicator (gpu.h comm_for_device) and
// runs run_worker_group. Collective over `group`.
void run_worker(const MpiComm& world, const MpiComm& group, const AuditOptions& options,
                const std::string& model_fingerprint);
// The group's request / read / broadcast / replay / report loop
// until the coordinator has no more work. `group` is this rank's group communicator; leaders
// read `options.archive_dir` themselves. `model_fingerprint` is the audited model's.
void run_worker_group(const MpiComm& world, const MpiComm& group, Model& model, const AuditOptions& options,
                      const std::string& model_fingerprint);

// The coordinator (audit_coordinator.cpp): plans, serves, journals and reports; returns the exit code.
int run_coordinator(const MpiComm& world, const AuditLayout& layout, const AuditOptions& options,
                    const std::string& model_fingerprint);

// Why a scored message is flagged under the policy ("" when it is not).
std::string flag_reasons(const MessageResult& result, const AuditPolicy& policy);

// The report's input (audit_report.cpp): everything the coordinator writes once the work is over.
struct AuditOutcome {
  bool complete = false;
  std::uint64_t archive_messages = 0, population = 0, planned = 0, batches_total = 0, batches_resumed = 0;
  struct PlanStratumCount {
    std::string key;
    std::uint64_t population = 0, planned = 0;
  };
  std::vector<PlanStratumCount> plan_strata;
  std::pair<std::uint64_t, std::uint64_t> part_batches{0, 0};  // this run's batch ids (parts)
  std::vector<MessageResult> results;  // plan order (complete) or the finished part (incomplete)
  std::string archive_digest, model_fingerprint;
  std::vector<std::string> shard_files;            // manifest order (names quarantined shards)
  std::int64_t vocab_size = 0;                     // the audited model's logits width V
  double model_bytes = 0.0;                        // its weight files (the secret an exfiltration would move)
  double archive_output_tokens = 0.0;              // in the manifest (the population's when unfiltered)
  bool filtered = false;                           // filters or strata: the population's tokens are estimated
  int n_groups = 0;
  double wall_seconds = 0.0;    // the coordinator's, from start to the end of serving
  double serve_seconds = 0.0;   // from the first work request to the last reply
  double replay_seconds = 0.0;  // summed over groups: read + broadcast + replay + score per batch
  std::uint64_t output_tokens_run = 0, processed_tokens_run = 0;  // verified in this run (not resumed)
  std::string stop_reason;                         // why an incomplete run stopped
};

// `fssl calibrate` (audit_calibration.cpp): the frontiers into summary["calibration"], the
// operating points into RUN/calibration.json, the table on stdout; true when every sampler family
// seen has an operating point meeting the target.
bool write_calibration(const AuditOptions& options, const AuditOutcome& outcome, nlohmann::json* summary);

// The archive, plan and model facts an audit starts from (audit_coordinator.cpp): the coordinator
// and fssl merge share them so a merged summary equals a single audit's.
struct AuditSetup {
  Manifest manifest;
  AuditPlan plan;
  AuditOutcome outcome;        // archive, model and plan fields filled in
  std::uint64_t batches = 0;   // work batches the whole plan is cut into
  std::string identity;        // of the whole audit (a journal's first entry; parts add " part i/n")
};
// Reads the manifest and model config, plans, refuses another model's archive (unless forced).
AuditSetup prepare_audit(const AuditOptions& options, const std::string& model_fingerprint);
// The identity text that decides whether a journal belongs to this audit (whole, or part i/n).
std::string audit_identity(const AuditOptions& options, const std::string& archive_digest,
                           const std::string& model_fingerprint);
std::string part_identity(const std::string& identity, const AuditOptions& options);
// Batch ids [first, end) of part `index` of `count` (contiguous, sizes differing by at most one).
std::pair<std::uint64_t, std::uint64_t> part_batches(std::uint64_t batches, int index, int count);

// fssl merge (audit_merge.cpp): the union of the parts' journals into RUN/journal.fssl, and the
// report of the whole audit when they cover every batch; returns the exit code.
int merge_runs(const AuditOptions& options, const std::vector<std::string>& part_dirs);

// Writes RUN/summary.json (and RUN/results.h5 when complete), prints the human block; returns
// the exit code (kExitOk, kExitFindings, kExitIncomplete).
int write_audit_report(const AuditOptions& options, const AuditOutcome& outcome);

}  // namespace fssl
