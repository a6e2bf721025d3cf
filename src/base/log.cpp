// Rank-prefixed logging (log.h).
#include "fssl/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace fssl {
namespace {

int g_rank = 0;
int g_world_size = 1;

LogLevel level_from_env() {
  const char* env = std::getenv("FSSL_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

LogLevel g_level = level_from_env();

const char* level_tag(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "?";
}

}  // namespace

void log_set_rank(int rank, int world_size) {
  g_rank = rank;
  g_world_size = world_size;
}

void log_set_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

bool log_enabled(LogLevel level) { return level >= g_level && (level > LogLevel::kInfo || g_rank == 0); }

void log_message(LogLevel level, const char* func, const std::string& message) {
  if (!log_enabled(level)) return;
  // Build the whole line first so concurrent writers cannot interleave inside it.
  std::string line = "[" + std::to_string(g_rank) + "/" + std::to_string(g_world_size) + "] " + level_tag(level) + " " +
                     func + ": " + message;
  if (line.empty() || line.back() != '\n') line += '\n';
  std::fputs(line.c_str(), stderr);
}

}  // namespace fssl
