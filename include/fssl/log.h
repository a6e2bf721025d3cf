// Logging macros with a rank prefix: "[r/N] level func: message", formatted with fmt
// (FSSL_LOG_INFO("{} rows", n)). INFO and DEBUG print on rank 0 only (or everywhere before MPI
// is up); WARN and ERROR print on every rank. All output goes to stderr so stdout stays free for
// summaries and --json output. A message below the level is not formatted at all.
// Thread safety: one fputs per message; lines from different threads do not interleave.
#pragma once

#include <fmt/format.h>

#include <string>

namespace fssl {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Set once per process by MpiEnvironment (rank, world size); defaults are 0 / 1.
void log_set_rank(int rank, int world_size);
// Messages below this level are dropped. Default kInfo; FSSL_LOG_LEVEL=debug|info|warn|error.
void log_set_level(LogLevel level);
LogLevel log_level();

// Whether a message at `level` prints on this rank.
bool log_enabled(LogLevel level);
// Prints one formatted message; prefer the macros, which add the function name and skip
// formatting when the message would not print.
void log_message(LogLevel level, const char* func, const std::string& message);

}  // namespace fssl

#define FSSL_LOG_AT_(level, ...)                                                                    \
  do {                                                                                              \
    if (::fssl::log_enabled(level)) ::fssl::log_message(level, __func__, fmt::format(__VA_ARGS__)); \
  } while (0)
#define FSSL_LOG_DEBUG(...) FSSL_LOG_AT_(::fssl::LogLevel::kDebug, __VA_ARGS__)
#define FSSL_LOG_INFO(...) FSSL_LOG_AT_(::fssl::LogLevel::kInfo, __VA_ARGS__)
#define FSSL_LOG_WARN(...) FSSL_LOG_AT_(::fssl::LogLevel::kWarn, __VA_ARGS__)
#define FSSL_LOG_ERROR(...) FSSL_LOG_AT_(::fssl::LogLevel::kError, __VA_ARGS__)
