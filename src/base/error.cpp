// Out-of-line pieces of error.h.
#include "fssl/error.h"

#include <cstring>

namespace fssl::detail {

std::string error_where(const std::string& message, const char* file, int line) {
  // Only the base name: full build paths make messages long and differ between machines.
  const char* slash = std::strrchr(file, '/');
  return fmt::format("{} [{}:{}]", message, slash != nullptr ? slash + 1 : file, line);
}

}  // namespace fssl::detail
