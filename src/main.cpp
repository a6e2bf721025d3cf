// fssl entry point: runs the command line, converts exceptions to exit codes, and aborts MPI
// (when some command initialised it) so that no rank is left waiting in a collective.
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "fssl/cli.h"
#include "fssl/error.h"
#include "fssl/log.h"
#include "fssl/mpi.h"

namespace {

// libtorch warns through glog-style stderr lines; fssl routes them through its own log, and drops
// the "API is in beta" notices of operators it uses deliberately (scatter_reduce), which every
// worker rank would otherwise print once per run.
class TorchWarnings : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2  // torch 2 hands over a c10::Warning
  void process(const c10::Warning& warning) override { route(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override { route(msg); }
#endif

 private:
  static void route(const std::string& msg) {
    if (msg.find("is in beta") != std::string::npos) return;
    FSSL_LOG_WARN("libtorch: {}", msg);
  }
};

void torch_warnings_install(c10::WarningHandler* handler) {
#if TORCH_VERSION_MAJOR >= 2
  c10::WarningUtils::set_warning_handler(handler);
#else
  c10::Warning::set_warning_handler(handler);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  static TorchWarnings torch_warnings;
  torch_warnings_install(&torch_warnings);
  int code = fssl::kExitInternal;
  try {
    code = fssl::cli_run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const fssl::Error& e) {
    FSSL_LOG_ERROR("{}", e.what());
    code = e.exit_code();
  } catch (const std::exception& e) {
    FSSL_LOG_ERROR("internal error: {}", e.what());
    code = fssl::kExitInternal;
  }
  if (code != fssl::kExitOk && fssl::MpiEnvironment::initialized()) fssl::MpiEnvironment::abort(code);
  return code;
}
