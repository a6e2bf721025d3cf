// The `fssl` command line: subcommand dispatch and option parsing (Boost.Program_options).
// Every option can also be set in an INI file given with --config; the command line wins over the
// file. Keys may stand at the top of the file (shared by all commands) or in a section named after
// the command, e.g. [archive-import]; an unknown key inside a command's own section is an error.
#pragma once

#include <string>
#include <vector>

namespace fssl {

// Runs `fssl <args...>` (argv without the program name) and returns the exit code.
// Throws fssl::Error subclasses; main() maps them to exit codes.
int cli_run(const std::vector<std::string>& args);

}  // namespace fssl
