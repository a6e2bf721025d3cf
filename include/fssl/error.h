// Typed exceptions and always-on checks for fssl.
// Failures inside fssl throw an fssl::Error subclass that carries file:line and formatted context
// (shard, record, rank); main() converts them to exit codes. Bad *records* are not errors: they are
// recorded as data where they are met (RecordError from the readers, a Problem in validation,
// an unverifiable MessageResult in the audit; archive.h, results.h) and the work continues.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace fssl {

// Exit codes shared by every subcommand (product.md, "Run directory and exit codes").
enum ExitCode : int {
  kExitOk = 0,            // complete, within policy
  kExitInternal = 1,      // internal error (bug, MPI failure)
  kExitInput = 2,         // configuration or input error
  kExitFindings = 3,      // complete, findings over policy (or an archive failed validation)
  kExitIncomplete = 4,    // incomplete, checkpoint written
};

// Base of all fssl errors. what() = "<context message> [file:line]".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // The process exit code this error maps to when it reaches main().
  virtual int exit_code() const { return kExitInternal; }
};

// Bad option, config file or command line. Exit code 2.
class ConfigError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

// An archive (shard, manifest, key) cannot be read or written as a whole. Exit code 2.
class ArchiveError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

// MPI or NCCL failure. Exit code 1.
class CommError : public Error {
 public:
  using Error::Error;
};

// Model directory, safetensors or weights unusable. Exit code 2.
class ModelError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return kExitInput; }
};

// Replay or scoring failed for a reason that is not the input's fault. Exit code 1.
class ReplayError : public Error {
 public:
  using Error::Error;
};

namespace detail {
// Formats "message [file:line]"; kept out of line so the macros stay small.
std::string error_where(const std::string& message, const char* file, int line);
}  // namespace detail

}  // namespace fssl

// Throws ErrorType with a fmt-formatted message and the call site when cond is false.
//   FSSL_CHECK(n >= 0, ArchiveError, "{}: record {}: negative length {}", path, i, n);
#define FSSL_CHECK(cond, ErrorType, ...)                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      throw ErrorType(::fssl::detail::error_where(fmt::format(__VA_ARGS__), __FILE__, __LINE__)); \
    }                                                                                     \
  } while (0)

// Unconditional throw with the same formatting.
#define FSSL_THROW(ErrorType, ...) \
  throw ErrorType(::fssl::detail::error_where(fmt::format(__VA_ARGS__), __FILE__, __LINE__))

// Always-on invariant (never compiled out): a violation is an fssl bug, exit code 1.
#define FSSL_ASSERT(cond)                                                                   \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      throw ::fssl::Error(::fssl::detail::error_where("assertion failed: " #cond, __FILE__, __LINE__)); \
    }                                                                                       \
  } while (0)
