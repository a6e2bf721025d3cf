// run_audit (worker.h): roles, the rank map, the model fingerprint, and one exit code for every
// rank (the worker groups load their model in worker/worker.cpp).
#include <filesystem>

#include <cstdio>

#include "fssl/audit.h"
#include "fssl/audit_layout.h"
#include "fssl/worker.h"
#include "fssl/log.h"

namespace fssl {

int run_audit(const MpiComm& world, const AuditOptions& o) {
  FSSL_CHECK(o.dtype == "fp32" || o.dtype == "bf16", ConfigError, "audit: --dtype {}: fp32 or bf16", o.dtype);
  FSSL_CHECK(o.device == "cpu" || o.device == "cuda", ConfigError, "audit: --device {}: cpu or cuda", o.device);
  FSSL_CHECK(!o.archive_dir.empty() && !o.model_dir.empty() && !o.run_dir.empty(), ConfigError,
             "audit: --archive, --model and --out are required");
  const AuditLayout layout = audit_layout(world.world_size(), o.tp_size);
  MpiComm group = audit_group_comm(world, layout);
  const std::vector<std::string> hosts = gather_hostnames(world);
  // Every rank agrees on the fingerprint before anything is replayed: the coordinator refuses
  // a mismatched archive, and the leaders check each record against the same value.
  std::string fingerprint;
  std::uint64_t length = 0;
  if (world.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(o.run_dir, ec);
    FSSL_CHECK(!ec, ConfigError, "audit: --out {}: cannot create the run directory: {}", o.run_dir, ec.message());
    fmt::print("# fssl audit: archive {}, model {}, run directory {}\n{}", o.archive_dir, o.model_dir, o.run_dir,
               audit_rank_map(layout, hosts));
    std::fflush(stdout);
    fingerprint = model_fingerprint(o.model_dir);
    length = fingerprint.size();
  }
  FSSL_MPI_CHECK(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, world.get()));
  fingerprint.resize(length);
  FSSL_MPI_CHECK(MPI_Bcast(fingerprint.data(), static_cast<int>(length), MPI_CHAR, 0, world.get()));

  int code = kExitOk;
  if (world.rank() == 0) {
    code = run_coordinator(world, layout, o, fingerprint);
  } else {
    run_worker(world, group, o, fingerprint);
  }
  FSSL_MPI_CHECK(MPI_Bcast(&code, 1, MPI_INT, 0, world.get()));
  return code;
}

}  // namespace fssl
