// Logging macros with a rank prefix: "[r/N] func: message".
// INFO and DEBUG print on rank 0 only (or everywhere before MPI is up); WARN and ERROR print on
// every rank. All output goes to stderr so stdout stays free for summaries and --json output.
// Thread safety: one fprintf per message; lines from different threads do not interleave.
#pragma once

#include <cstdio>

namespace fssl {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Set once per process by MpiEnvironment (rank, world size); defaults are 0 / 1.
void log_set_rank(int rank, int world_size);
// Messages below this level are dropped. Default kInfo; FSSL_LOG_LEVEL=debug|info|warn|error.
void log_set_level(LogLevel level);
LogLevel log_level();

// printf-style; prefer the macros, which add the function name.
void log_printf(LogLevel level, const char* func, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace fssl

#define FSSL_LOG_DEBUG(...) ::fssl::log_printf(::fssl::LogLevel::kDebug, __func__, __VA_ARGS__)
#define FSSL_LOG_INFO(...) ::fssl::log_printf(::fssl::LogLevel::kInfo, __func__, __VA_ARGS__)
#define FSSL_LOG_WARN(...) ::fssl::log_printf(::fssl::LogLevel::kWarn, __func__, __VA_ARGS__)
#define FSSL_LOG_ERROR(...) ::fssl::log_printf(::fssl::LogLevel::kError, __func__, __VA_ARGS__)
