// fssl's main job and its worker side, `mpirun -np N fssl audit` (src/worker/): rank 0 runs the
// coordinator (audit.h), the other ranks form tensor-parallel groups of options.tp_size
// consecutive ranks (audit_layout.h) that load the model, replay and score (verify.h) and report
// each batch (results.h). Links libtorch.
#pragma once
#include <string>

#include "fssl/audit_options.h"
#include "fssl/model.h"
#include "fssl/mpi.h"

namespace fssl {

// Runs the audit on every rank of `world`; returns the exit code (kExitOk, kExitFindings or
// kExitIncomplete) on every rank. Throws ConfigError/ArchiveError/ModelError for bad options or
// inputs (main aborts the job with exit code 2). Collective over `world`: every rank calls it
// with the same options.
int run_audit(const MpiComm& world, const AuditOptions& options);

// Worker ranks (src/worker/worker.cpp): binds the rank's GPU when options.device is cuda, loads the
// model there (bf16) or on the CPU, makes the group's communicator (gpu.h comm_for_device) and
// runs run_worker_group. Collective over `group`.
void run_worker(const MpiComm& world, const MpiComm& group, const AuditOptions& options,
                const std::string& model_fingerprint);
// The group's request / read / broadcast / replay / report loop
// until the coordinator has no more work. `group` is this rank's group communicator; leaders
// read `options.archive_dir` themselves. `model_fingerprint` is the audited model's.
void run_worker_group(const MpiComm& world, const MpiComm& group, Model& model, const AuditOptions& options,
                      const std::string& model_fingerprint);

}  // namespace fssl
