// fssl entry point: runs the command line, converts exceptions to exit codes, and aborts MPI
// (when some command initialised it) so that no rank is left waiting in a collective.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "fssl/cli.h"
#include "fssl/error.h"
#include "fssl/log.h"
#include "fssl/mpi.h"

int main(int argc, char** argv) {
  int code = fssl::kExitInternal;
  try {
    code = fssl::cli_run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const fssl::Error& e) {
    FSSL_LOG_ERROR("%s", e.what());
    code = e.exit_code();
  } catch (const std::exception& e) {
    FSSL_LOG_ERROR("internal error: %s", e.what());
    code = fssl::kExitInternal;
  }
  if (code != fssl::kExitOk && fssl::MpiEnvironment::initialized()) fssl::MpiEnvironment::abort(code);
  return code;
}
