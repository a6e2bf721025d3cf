// `fssl calibrate --adversarial`: the adversarial audits after the honest calibration, and the
// power measured from them (cli/options.h run_power_audits).
#include <fmt/format.h>

#include "cli/options.h"
#include "fssl/audit.h"
#include "fssl/report.h"
#include "fssl/simulate.h"
#include "fssl/worker.h"

namespace fssl {

// `fssl calibrate --adversarial A ...` after the honest calibration: each adversarial archive is
// audited at the calibrated point into RUN/adversary-K with its ground truth (collective over
// `world`, one after another), then rank 0 measures power (report.h write_power). The adversarial
// audits' own exit codes (3: they alarm) are theirs; calibrate returns the honest run's.
int run_power_audits(const MpiComm& world, const AuditOptions& honest, int code) {
  if (code != kExitOk) return code;  // no operating point: nothing to measure power at
  const std::vector<std::string>& archives = honest.calibration->adversarial_archives;
  std::vector<std::string> runs;
  for (std::size_t k = 0; k < archives.size(); ++k) {
    AuditOptions adversarial = honest;
    adversarial.calibration.reset();
    adversarial.archive_dir = archives[k];
    adversarial.run_dir = fmt::format("{}/adversary-{}", honest.run_dir, k);
    adversarial.alarm.truth_file = simulate_truth_path(archives[k]);
    apply_calibration_file(honest.run_dir + "/calibration.json", &adversarial);
    if (world.rank() == 0) fmt::print("#\n# calibrate: adversarial archive {} -> {}\n", archives[k], adversarial.run_dir);
    const int adversary_code = run_audit(world, adversarial);
    if (adversary_code == kExitIncomplete) return kExitIncomplete;
    runs.push_back(adversarial.run_dir);
  }
  // Every rank leaves with rank 0's outcome: an error writing the power is the job's error.
  int power_code = kExitOk;
  if (world.rank() == 0) write_power(honest, archives, runs);
  FSSL_MPI_CHECK(MPI_Bcast(&power_code, 1, MPI_INT, 0, world.get()));
  return code;
}

}  // namespace fssl
