// Shared Program_options plumbing for the subcommands (private to the cli_*.cpp files).
#pragma once

#include <boost/program_options.hpp>

#include "fssl/audit_options.h"
#include "fssl/error.h"
#include "fssl/mpi.h"
#include <string>
#include <vector>

namespace fssl {

namespace po = boost::program_options;

struct CommandSpec {
  std::string name;      // "archive import"
  std::string summary;   // one line for `fssl --help`
  std::string usage;     // "fssl archive import --input FILE --out DIR --vocab-size V [options]"
  // A config-file section this command shares with another ("audit" for calibrate and merge, which
  // take the audit's options): read after the command's own section, so its own keys win, and
  // keys of the shared section that this command lacks are skipped. Empty: none.
  std::string shared_section = {};
};

// Parses `args` against `options` (+ --config FILE, --help). Positional arguments map to the
// names in `positional` in order; a last name ending in '*' takes all the remaining ones.
// Precedence: the command line, then the file's [own-section], then [spec.shared_section], then
// its flat keys.
// Returns false when --help was printed (the caller exits 0).
// Throws ConfigError on unknown options, bad values or an unreadable config file.
bool cli_parse(const CommandSpec& spec, const std::vector<std::string>& args, po::options_description& options,
               const std::vector<std::string>& positional, po::variables_map* vm);

// The config-file section of a command: "archive import" -> "archive-import".
std::string cli_section_name(const std::string& command);

// Subcommand entry points (cli/archive.cpp).
int cli_archive_import(const std::vector<std::string>& args);
int cli_archive_inspect(const std::vector<std::string>& args);
int cli_archive_validate(const std::vector<std::string>& args);
int cli_archive_export(const std::vector<std::string>& args);
int cli_archive_keygen(const std::vector<std::string>& args);
// cli/bench.cpp
int cli_bench_archive(const std::vector<std::string>& args);
int cli_bench_prefill(const std::vector<std::string>& args);
int cli_bench_score(const std::vector<std::string>& args);
// cli/simulate.cpp
int cli_simulate(const std::vector<std::string>& args);
// cli/audit.cpp
int cli_audit(const std::vector<std::string>& args);
int cli_calibrate(const std::vector<std::string>& args);
// `fssl calibrate --adversarial A ...` after the honest calibration whose exit code is `code`: each
// adversarial archive is audited at the calibrated point into RUN/adversary-K with its ground
// truth (collective over `world`), then rank 0 writes the power into calibration.json
// (report.h write_power). Returns `code` (or 4 when an adversarial audit stopped incomplete).
int run_power_audits(const MpiComm& world, const AuditOptions& honest, int code);
int cli_merge(const std::vector<std::string>& args);
// cli/plan.cpp
int cli_plan(const std::vector<std::string>& args);
// cli/model.cpp
int cli_model_init(const std::vector<std::string>& args);
int cli_model_inspect(const std::vector<std::string>& args);

}  // namespace fssl
