// The facts an audit starts from, shared by the coordinator and fssl merge (private to
// src/audit/): so a merged summary equals a single audit's, and both refuse a journal of
// another audit by the same identity.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "fssl/archive.h"
#include "fssl/audit_options.h"
#include "fssl/audit_plan.h"
#include "fssl/report.h"

namespace fssl {

// The archive, plan and model facts an audit starts from (audit/coordinator.cpp): the coordinator
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

}  // namespace fssl
